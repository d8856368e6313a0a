/**
 * Statements and code of a SQL script, on top of the project's lexer (lexer.ts).
 *
 * `maskSql` returns a string of the same length where comments and the contents of string
 * literals (quoted and dollar-quoted) are blanked out with spaces (newlines are kept), so offsets
 * and line numbers in the masked text are offsets and line numbers in the original.
 *
 * `splitStatements` ends a statement where psql would: at a semicolon outside parentheses and
 * outside a SQL-standard `BEGIN ATOMIC ... END` body. It follows `SET standard_conforming_strings`
 * in the script, as the server does.
 */
import { isTrivia, type LexerOptions, SqlLexer, type Token } from './lexer';

export interface SqlStatement {
  /** The statement as written, trimmed, without the terminating semicolon. */
  readonly text: string;
  /** The same range of the masked text (comments and literal contents blanked). */
  readonly masked: string;
  /** Offset of the first character of `text` in the source. */
  readonly start: number;
  /** 1-based line of `start`. */
  readonly line: number;
}

function blank(text: string): string {
  return text.replace(/[^\n]/g, ' ');
}

/** A token as the masked text shows it: code kept, comments and literal contents blanked. */
function maskToken(token: Token): string {
  const { kind, text } = token;
  if (kind === 'comment') return blank(text);
  if (kind === 'string') {
    // Keep the prefix and the quotes (an unterminated string has no closing one).
    const open = text.indexOf("'") + 1;
    const closed = text.length > open && text.endsWith("'");
    return text.slice(0, open) + blank(text.slice(open, closed ? -1 : undefined)) + (closed ? "'" : '');
  }
  if (kind === 'dollar') {
    const tag = /^\$[^$]*\$/.exec(text)?.[0] ?? '$$';
    const closed = text.length >= 2 * tag.length && text.endsWith(tag);
    return tag + blank(text.slice(tag.length, closed ? -tag.length : undefined)) + (closed ? tag : '');
  }
  // Quoted identifiers are code and kept as written, except that a ; inside one is blanked so a
  // regular expression over the masked text cannot take it for a statement end.
  if (kind === 'quoted-ident') return text.replace(/;/g, ' ');
  return text;
}

/** Comments and literal contents replaced by spaces; same length and line breaks as `sql`. */
export function maskSql(sql: string, options: LexerOptions = {}): string {
  return splitScript(sql, options).masked;
}

/**
 * Splits SQL into statements. Semicolons in comments, literals, quoted identifiers, dollar-quoted
 * bodies, parentheses (`CREATE RULE ... DO ALSO (a; b)`) and `BEGIN ATOMIC ... END` function
 * bodies do not split. Empty statements (only comments or whitespace) are dropped.
 */
export function splitStatements(sql: string, options: LexerOptions = {}): SqlStatement[] {
  return splitScript(sql, options).statements;
}

const SET_SCS =
  /^(?:SET\s+(?:SESSION\s+|LOCAL\s+)?standard_conforming_strings\s*(?:=|\bTO\b)\s*'?([A-Za-z0-9]+)'?|RESET\s+(standard_conforming_strings|ALL))\s*$/i;

/** The value `SET standard_conforming_strings` gives, if the statement sets it. */
function standardConformingStringsAfter(masked: string, original: string): boolean | undefined {
  const m = SET_SCS.exec(original.trim());
  if (!m || !/^(?:SET|RESET)\b/i.test(masked.trim())) return undefined;
  if (m[2]) return true;
  const value = m[1].toLowerCase();
  if (['off', 'false', 'no', '0'].includes(value)) return false;
  if (['on', 'true', 'yes', '1', 'default'].includes(value)) return true;
  return undefined;
}

function splitScript(sql: string, options: LexerOptions): { masked: string; statements: SqlStatement[] } {
  const lexer = new SqlLexer(sql, options);
  const statements: SqlStatement[] = [];
  let masked = '';
  let line = 1;
  // The current statement: its first meaningful token and the last one before the terminator.
  let first: Token | undefined;
  let last: Token | undefined;
  let firstLine = 1;
  let parens = 0;
  let atomic = 0;
  let previousWord = '';
  const finish = () => {
    if (first && last) {
      const text = sql.slice(first.start, last.end);
      const maskedText = masked.slice(first.start, last.end);
      statements.push({ text, masked: maskedText, start: first.start, line: firstLine });
      const scs = standardConformingStringsAfter(maskedText, text);
      if (scs !== undefined) lexer.standardConformingStrings = scs;
    }
    first = undefined;
    last = undefined;
    parens = 0;
    atomic = 0;
    previousWord = '';
  };
  for (let token = lexer.next(); token; token = lexer.next()) {
    masked += maskToken(token);
    if (token.kind === 'semicolon' && parens <= 0 && atomic === 0) {
      finish();
    } else if (!isTrivia(token)) {
      if (!first) {
        first = token;
        firstLine = line;
      }
      last = token;
      if (token.kind === 'open-paren') parens++;
      else if (token.kind === 'close-paren') parens--;
      else if (token.kind === 'word') {
        const word = token.text.toUpperCase();
        // Only keywords count: a quoted "end" is an identifier token, not a word.
        if (word === 'ATOMIC' && previousWord === 'BEGIN') atomic++;
        else if (word === 'CASE' && atomic > 0) atomic++;
        else if (word === 'END' && atomic > 0) atomic--;
        previousWord = word;
      } else {
        previousWord = '';
      }
    }
    for (let i = token.start; i < token.end; i++) if (sql.charCodeAt(i) === 10) line++;
  }
  finish();
  return { masked, statements };
}

/** A one-line excerpt of a statement for error messages: whitespace collapsed, at most `max` chars. */
export function excerpt(statement: string, max = 160): string {
  const flat = statement.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
