/**
 * Statement text without literals, for reports. pg_stat_statements already replaces constants
 * with `$n`, but utility statements and pg_stat_activity keep the text as sent, which can
 * contain personal data (a customer's e-mail in a WHERE clause) or secrets (a password in
 * ALTER ROLE). This removes every literal and comment before any text leaves the database
 * session. Hand-written: it is a small lexer for exactly this job, not a SQL parser.
 */

export interface NormaliseOptions {
  /** What replaces a literal. @default '?' */
  readonly placeholder?: string;
  /**
   * Keep numeric literals (for SQL that must still parse, e.g. `numeric(10,2)` in an EXPLAIN
   * suggestion). Only use on pg_stat_statements text of DML, where constants are already `$n`.
   * @default false
   */
  readonly keepNumbers?: boolean;
}

/** Replaces string, dollar-quoted, numeric and bit/hex literals with `?`, drops comments, collapses whitespace, truncates to `maxLength` characters (with `…`). */
export function normaliseStatement(text: string, maxLength: number, opts: NormaliseOptions = {}): string {
  const placeholder = opts.placeholder ?? '?';
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    const next = text[i + 1];
    // -- line comment
    if (ch === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? n : end;
      out += ' ';
      continue;
    }
    // /* block comment */ (nesting is allowed in PostgreSQL)
    if (ch === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      out += ' ';
      continue;
    }
    // "quoted identifier": kept as is (identifiers are schema, not data)
    if (ch === '"') {
      const end = text.indexOf('"', i + 1);
      const stop = end === -1 ? n : end + 1;
      out += text.slice(i, stop);
      i = stop;
      continue;
    }
    // E'...' / B'...' / X'...' / U&'...' / N'...' prefixes: drop the prefix, the string below becomes ?
    if (/[eEbBxXnN]/.test(ch) && next === "'" && !isIdentChar(text[i - 1])) {
      i++;
      continue;
    }
    if ((ch === 'u' || ch === 'U') && next === '&' && text[i + 2] === "'" && !isIdentChar(text[i - 1])) {
      i += 2;
      continue;
    }
    // 'string' with '' escapes; backslash escapes are harmless to skip over as well
    if (ch === "'") {
      i++;
      while (i < n) {
        if (text[i] === '\\') i += 2;
        else if (text[i] === "'" && text[i + 1] === "'") i += 2;
        else if (text[i] === "'") break;
        else i++;
      }
      i++; // past the closing quote (or past the end of truncated text)
      out += placeholder;
      continue;
    }
    // $tag$ ... $tag$ dollar quoting (and $n parameters, which are kept)
    if (ch === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      if (m && !isIdentChar(text[i - 1])) {
        const tag = m[0];
        const end = text.indexOf(tag, i + tag.length);
        i = end === -1 ? n : end + tag.length;
        out += placeholder;
        continue;
      }
      const p = /^\$\d+/.exec(text.slice(i));
      if (p) {
        out += p[0];
        i += p[0].length;
        continue;
      }
    }
    // numbers not part of an identifier: 42, 3.14, .5, 1e10, 0x1F, 1_000
    if ((isDigit(ch) || (ch === '.' && isDigit(next))) && !isIdentChar(text[i - 1])) {
      const m = /^(0[xXoObB][0-9A-Fa-f_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)/.exec(text.slice(i));
      const len = m?.[0].length || 1;
      out += opts.keepNumbers ? text.slice(i, i + len) : placeholder;
      i += len;
      continue;
    }
    out += ch;
    i++;
  }
  let collapsed = out.replace(/\s+/g, ' ').replace(/\(\s+/g, '(').replace(/\s+\)/g, ')').trim();
  // IN (?, ?, ?) and VALUES (?, ?) lists say nothing more than one element
  if (placeholder === '?') collapsed = collapsed.replace(/\(\s*\?(\s*,\s*\?)+\s*\)/g, '(?, …)');
  return collapsed.length > maxLength ? `${collapsed.slice(0, Math.max(0, maxLength - 1)).trimEnd()}…` : collapsed;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$]/.test(c);
}

const EXPLAINABLE = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|MERGE|VALUES|TABLE)\b/i;

/**
 * `EXPLAIN (GENERIC_PLAN) <statement>;` for a pg_stat_statements entry (PostgreSQL 16+ plans
 * statements with `$n` parameters without values), or undefined for statements EXPLAIN cannot take.
 */
export function explainSql(statement: string): string | undefined {
  if (!EXPLAINABLE.test(statement)) return undefined;
  const body = normaliseStatement(statement, Number.MAX_SAFE_INTEGER, { placeholder: 'NULL', keepNumbers: true });
  return `EXPLAIN (GENERIC_PLAN) ${body.replace(/;\s*$/, '')};`;
}
