/**
 * Just enough of PostgreSQL's lexical rules to split a migration into statements and to look at
 * its code without comments and literals. Written by hand because it is small and no maintained
 * npm package splits PostgreSQL (dollar quotes, nested comments, BEGIN ATOMIC) without also
 * pulling in a full parser.
 *
 * `maskSql` returns a string of the same length where comments and the contents of string
 * literals (quoted and dollar-quoted) are blanked out with spaces (newlines are kept), so offsets
 * and line numbers in the masked text are offsets and line numbers in the original.
 */

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

const IDENT_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

function blank(text: string): string {
  return text.replace(/[^\n]/g, ' ');
}

/** Comments and literal contents replaced by spaces; same length and line breaks as `sql`. */
export function maskSql(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      out += blank(sql.slice(i, stop));
      i = stop;
    } else if (ch === '/' && next === '*') {
      // Block comments nest in PostgreSQL.
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
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
      out += blank(sql.slice(i, j));
      i = j;
    } else if (ch === "'") {
      // E'...' strings honour backslash escapes; standard strings only '' (standard_conforming_strings).
      const prev = sql[i - 1];
      const escapes = (prev === 'E' || prev === 'e') && !IDENT_CHAR.test(sql[i - 2] ?? ' ');
      let j = i + 1;
      while (j < n) {
        if (escapes && sql[j] === '\\') {
          j += 2;
        } else if (sql[j] === "'" && sql[j + 1] === "'") {
          j += 2;
        } else if (sql[j] === "'") {
          break;
        } else {
          j++;
        }
      }
      out += `'${blank(sql.slice(i + 1, Math.min(j, n)))}${j < n ? "'" : ''}`;
      i = j + 1;
    } else if (ch === '"') {
      // Quoted identifiers are code and kept as written, except that a ; inside one is blanked
      // so it cannot split the statement.
      let j = i + 1;
      while (j < n) {
        if (sql[j] === '"' && sql[j + 1] === '"') j += 2;
        else if (sql[j] === '"') break;
        else j++;
      }
      out += sql.slice(i, Math.min(j + 1, n)).replace(/;/g, ' ');
      i = j + 1;
    } else if (ch === '$' && !IDENT_CHAR.test(sql[i - 1] ?? ' ')) {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 100))?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        const stop = close === -1 ? n : close;
        out += tag + blank(sql.slice(i + tag.length, stop)) + (close === -1 ? '' : tag);
        i = close === -1 ? n : close + tag.length;
      } else {
        out += ch;
        i++;
      }
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function lineAt(sql: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (sql[i] === '\n') line++;
  return line;
}

/**
 * Splits SQL into statements at top-level semicolons. Semicolons in comments, literals,
 * dollar-quoted bodies and SQL-standard `BEGIN ATOMIC ... END` function bodies do not split.
 * Empty statements (only comments or whitespace) are dropped.
 */
export function splitStatements(sql: string): SqlStatement[] {
  const masked = maskSql(sql);
  const statements: SqlStatement[] = [];
  const words = /\b(BEGIN\s+ATOMIC|CASE|END)\b|;/giy;
  let atomicDepth = 0;
  let start = 0;
  const push = (end: number) => {
    const raw = masked.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    const text = sql.slice(start + lead, end).trimEnd();
    if (raw.trim() !== '') {
      statements.push({
        text,
        masked: masked.slice(start + lead, start + lead + text.length),
        start: start + lead,
        line: lineAt(sql, start + lead),
      });
    }
  };
  for (let i = 0; i < masked.length; i++) {
    const c = masked[i];
    if (c !== ';' && !/[BbCcEe]/.test(c)) continue;
    if (c !== ';' && i > 0 && IDENT_CHAR.test(masked[i - 1])) continue;
    words.lastIndex = i;
    const m = words.exec(masked);
    if (!m) continue;
    const word = m[1]?.toUpperCase().replace(/\s+/g, ' ');
    if (m[0] === ';') {
      if (atomicDepth === 0) {
        push(i);
        start = i + 1;
      }
    } else if (word === 'BEGIN ATOMIC') {
      atomicDepth++;
    } else if (word === 'CASE' && atomicDepth > 0) {
      atomicDepth++;
    } else if (word === 'END' && atomicDepth > 0) {
      atomicDepth--;
    }
    i += m[0].length - 1;
  }
  push(masked.length);
  return statements;
}

/** A one-line excerpt of a statement for error messages: whitespace collapsed, at most `max` chars. */
export function excerpt(statement: string, max = 160): string {
  const flat = statement.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
