/**
 * The project's one SQL lexer: PostgreSQL's lexical rules (scan.l), just enough to tell code from
 * comments and literals. The migration runner splits files into statements with it, the migration
 * lint reads code with it, and the advisor strips literals from statement texts with it, so all
 * three agree on where a string ends. Hand-written because it is small and no maintained npm
 * package lexes PostgreSQL (dollar quotes, nested comments, escape strings, the
 * standard_conforming_strings switch) without also pulling in a full parser.
 *
 * Tokens cover the input exactly: concatenating their texts gives the input back. Unterminated
 * comments and literals (a truncated pg_stat_activity text) run to the end of the input.
 */

export type TokenKind =
  /** Spaces, tabs, newlines. */
  | 'space'
  /** `-- ...` up to (not including) the newline, or a nested-aware block comment. */
  | 'comment'
  /** A quoted string with its prefix: `'a'`, `E'a\n'`, `B'101'`, `X'1F'`, `N'a'`, `U&'a'`. */
  | 'string'
  /** `$tag$ ... $tag$` (the tag may be empty). */
  | 'dollar'
  /** `"Quoted identifier"` (or `U&"..."`). */
  | 'quoted-ident'
  /** Keyword or unquoted identifier. */
  | 'word'
  /** Numeric literal: `42`, `3.14`, `.5`, `1e10`, `0x1F`, `1_000`. */
  | 'number'
  /** Positional parameter `$1`. */
  | 'param'
  | 'open-paren'
  | 'close-paren'
  | 'semicolon'
  /** Anything else: operators, commas, `::`, `.`, `[`, ... one character at a time. */
  | 'other';

export interface Token {
  readonly kind: TokenKind;
  /** Offset of the first character in the input. */
  readonly start: number;
  /** Offset just past the last character. */
  readonly end: number;
  readonly text: string;
}

export interface LexerOptions {
  /**
   * PostgreSQL's `standard_conforming_strings` (on by default since 9.1, and on RDS): when off,
   * a backslash escapes the next character in plain `'...'` strings too, not only in `E'...'`.
   * @default true
   */
  readonly standardConformingStrings?: boolean;
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DIGIT = /[0-9]/;
const SPACE = /[ \t\n\r\f\v]/;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const NUMBER = /0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?/y;
const PARAM = /\$\d+/y;

/** Whether the character at `i` may continue an identifier (so `$` or a quote there is not a new token). */
function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && IDENT_CHAR.test(c);
}

/**
 * Incremental lexer. `standardConformingStrings` may be changed between tokens (the statement
 * splitter does when a migration runs `SET standard_conforming_strings`), and applies to the
 * strings lexed after the change, as it does in the server.
 */
export class SqlLexer {
  standardConformingStrings: boolean;
  private pos = 0;

  constructor(
    private readonly sql: string,
    options: LexerOptions = {},
  ) {
    this.standardConformingStrings = options.standardConformingStrings ?? true;
  }

  /** The next token, or undefined at the end of the input. */
  next(): Token | undefined {
    const { sql } = this;
    const i = this.pos;
    if (i >= sql.length) return undefined;
    const ch = sql[i];
    const next = sql[i + 1];
    let end: number;
    let kind: TokenKind;
    if (SPACE.test(ch)) {
      end = i + 1;
      while (end < sql.length && SPACE.test(sql[end])) end++;
      kind = 'space';
    } else if (ch === '-' && next === '-') {
      const newline = sql.indexOf('\n', i);
      end = newline === -1 ? sql.length : newline;
      kind = 'comment';
    } else if (ch === '/' && next === '*') {
      end = this.blockCommentEnd(i);
      kind = 'comment';
    } else if (ch === "'") {
      end = this.stringEnd(i + 1, !this.standardConformingStrings);
      kind = 'string';
    } else if (ch === '"') {
      end = this.quotedEnd(i + 1, '"');
      kind = 'quoted-ident';
    } else if (ch === '$' && !isIdentChar(sql[i - 1])) {
      const tag = this.match(DOLLAR_TAG, i);
      const param = tag ? undefined : this.match(PARAM, i);
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        end = close === -1 ? sql.length : close + tag.length;
        kind = 'dollar';
      } else if (param) {
        end = i + param.length;
        kind = 'param';
      } else {
        end = i + 1;
        kind = 'other';
      }
    } else if (DIGIT.test(ch) || (ch === '.' && DIGIT.test(next ?? ''))) {
      end = i + (this.match(NUMBER, i)?.length || 1);
      kind = 'number';
    } else if (IDENT_START.test(ch)) {
      end = i + 1;
      while (end < sql.length && IDENT_CHAR.test(sql[end])) end++;
      const word = sql.slice(i, end);
      const quote = sql[end];
      if (quote === "'" && /^[eEbBxXnN]$/.test(word)) {
        // E'...' honours backslash escapes whatever standard_conforming_strings says.
        end = this.stringEnd(end + 1, word === 'e' || word === 'E' || !this.standardConformingStrings);
        kind = 'string';
      } else if (/^[uU]$/.test(word) && quote === '&' && (sql[end + 1] === "'" || sql[end + 1] === '"')) {
        // U&'...' (Unicode escapes use the backslash, but only '' ends nothing early).
        const q = sql[end + 1];
        end = q === "'" ? this.stringEnd(end + 2, false) : this.quotedEnd(end + 2, '"');
        kind = q === "'" ? 'string' : 'quoted-ident';
      } else {
        kind = 'word';
      }
    } else if (ch === '(') {
      end = i + 1;
      kind = 'open-paren';
    } else if (ch === ')') {
      end = i + 1;
      kind = 'close-paren';
    } else if (ch === ';') {
      end = i + 1;
      kind = 'semicolon';
    } else {
      end = i + 1;
      kind = 'other';
    }
    this.pos = end;
    return { kind, start: i, end, text: sql.slice(i, end) };
  }

  private match(re: RegExp, at: number): string | undefined {
    re.lastIndex = at;
    return re.exec(this.sql)?.[0];
  }

  /** Block comments nest in PostgreSQL. */
  private blockCommentEnd(i: number): number {
    const { sql } = this;
    let depth = 1;
    let j = i + 2;
    while (j < sql.length && depth > 0) {
      if (sql[j] === '/' && sql[j + 1] === '*') {
        depth++;
        j += 2;
      } else if (sql[j] === '*' && sql[j + 1] === '/') {
        depth--;
        j += 2;
      } else {
        j++;
      }
    }
    return Math.min(j, sql.length);
  }

  /** From just after the opening quote to just after the closing one; `''` is a quote. */
  private stringEnd(j: number, backslashEscapes: boolean): number {
    const { sql } = this;
    while (j < sql.length) {
      if (backslashEscapes && sql[j] === '\\') j += 2;
      else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
      else if (sql[j] === "'") return j + 1;
      else j++;
    }
    return sql.length;
  }

  private quotedEnd(j: number, quote: string): number {
    const { sql } = this;
    while (j < sql.length) {
      if (sql[j] === quote && sql[j + 1] === quote) j += 2;
      else if (sql[j] === quote) return j + 1;
      else j++;
    }
    return sql.length;
  }
}

/** Every token of `sql`, in order. */
export function tokenize(sql: string, options: LexerOptions = {}): Token[] {
  const lexer = new SqlLexer(sql, options);
  const tokens: Token[] = [];
  for (let token = lexer.next(); token; token = lexer.next()) tokens.push(token);
  return tokens;
}

/** Whether a token is only layout (space or comment) between the tokens that carry meaning. */
export function isTrivia(token: Token): boolean {
  return token.kind === 'space' || token.kind === 'comment';
}
