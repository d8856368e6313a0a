/**
 * Statement text without literals, for reports. pg_stat_statements already replaces constants
 * with `$n`, but utility statements and pg_stat_activity keep the text as sent, which can
 * contain personal data (a customer's e-mail in a WHERE clause) or secrets (a password in
 * ALTER ROLE). This removes every literal and comment before any text leaves the database
 * session, using the project's one SQL lexer (lambda/shared/sql/lexer.ts), so it agrees with the
 * migration runner on where every string ends.
 */
import { tokenize } from '../shared/sql/lexer';

export interface NormaliseOptions {
  /** What replaces a literal. @default '?' */
  readonly placeholder?: string;
  /**
   * Keep numeric literals (for SQL that must still parse, e.g. `numeric(10,2)` in an EXPLAIN
   * suggestion). Only use on pg_stat_statements text of DML, where constants are already `$n`.
   * @default false
   */
  readonly keepNumbers?: boolean;
  /**
   * How the session that sent the text read strings (PostgreSQL's default, and RDS's, is on).
   * @default true
   */
  readonly standardConformingStrings?: boolean;
}

/** Replaces string, dollar-quoted, numeric and bit/hex literals with `?`, drops comments, collapses whitespace, truncates to `maxLength` characters (with `…`). */
export function normaliseStatement(text: string, maxLength: number, opts: NormaliseOptions = {}): string {
  const placeholder = opts.placeholder ?? '?';
  let out = '';
  for (const token of tokenize(text, { standardConformingStrings: opts.standardConformingStrings })) {
    if (token.kind === 'comment') out += ' ';
    else if (token.kind === 'string' || token.kind === 'dollar') out += placeholder;
    else if (token.kind === 'number') out += opts.keepNumbers ? token.text : placeholder;
    else out += token.text;
  }
  let collapsed = out.replace(/\s+/g, ' ').replace(/\(\s+/g, '(').replace(/\s+\)/g, ')').trim();
  // IN (?, ?, ?) and VALUES (?, ?) lists say nothing more than one element
  if (placeholder === '?') collapsed = collapsed.replace(/\(\s*\?(\s*,\s*\?)+\s*\)/g, '(?, …)');
  return collapsed.length > maxLength ? `${collapsed.slice(0, Math.max(0, maxLength - 1)).trimEnd()}…` : collapsed;
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
