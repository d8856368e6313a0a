/**
 * Directive comments in migration files: full-line `-- crm:<name> ...` comments.
 *
 *   -- crm:no-transaction              run this file outside a transaction, statement by statement
 *                                      (needed for CREATE INDEX CONCURRENTLY)
 *   -- crm:allow <rule> <reason>       let the lint accept a risky statement; the reason is required
 */
import { MigrationFileError } from './errors';

export interface AllowDirective {
  readonly rule: string;
  /** Empty when the directive has none; the lint rejects that. */
  readonly reason: string;
  readonly line: number;
}

export interface Directives {
  readonly noTransaction: boolean;
  readonly allows: readonly AllowDirective[];
}

const DIRECTIVE = /^\s*--\s*crm:(\S*)[ \t]*(.*)$/;
const KNOWN = new Set(['no-transaction', 'allow']);

/** Parses the directives of one file. Unknown directives are refused so a typo cannot go unnoticed. */
export function parseDirectives(file: string, sql: string): Directives {
  let noTransaction = false;
  const allows: AllowDirective[] = [];
  sql.split('\n').forEach((text, index) => {
    const m = DIRECTIVE.exec(text);
    if (!m) return;
    const [, name, rest] = m;
    const line = index + 1;
    if (!KNOWN.has(name)) {
      throw new MigrationFileError(
        file,
        `line ${line}: unknown directive 'crm:${name}' (known: crm:no-transaction, crm:allow <rule> <reason>)`,
      );
    }
    if (name === 'no-transaction') {
      if (rest.trim() !== '') {
        throw new MigrationFileError(file, `line ${line}: crm:no-transaction takes no arguments`);
      }
      noTransaction = true;
      return;
    }
    const [rule = '', ...reason] = rest.trim().split(/\s+/);
    allows.push({ rule, reason: reason.join(' ').trim(), line });
  });
  return { noTransaction, allows };
}
