/**
 * Migration lint: a migration after the first must not destroy data or take long exclusive locks
 * on existing tables, unless it says why with `-- crm:allow <rule> <reason>`.
 *
 * The lint looks at code only: comments and string literals are blanked first (see lambda/shared/sql/statements.ts),
 * so commented-out SQL never matches. Bodies of `DO` blocks are linted too, because they run at
 * migration time; function bodies are not (they run later), nor is SQL built dynamically with
 * EXECUTE. It is a guard rail for honest mistakes, not a sandbox.
 */
import { parseDirectives } from './directives';
import type { Migration } from './migrations';
import { excerpt, splitStatements } from '../shared/sql/statements';

/** Each rule and why it is risky on a live database (shown in findings and docs/migrations.md). */
export const LINT_RULES = {
  'drop-table':
    'DROP TABLE destroys data, and the release still running during the deploy may read the table. ' +
    'Stop using it in one release and drop it in a later one, with an allow directive.',
  'drop-column':
    'DROP COLUMN destroys data and breaks the release still running during the deploy. ' +
    'Stop using the column in one release and drop it in a later one, with an allow directive.',
  'alter-column-type':
    'ALTER COLUMN ... TYPE usually rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes. ' +
    'Add a new column, backfill it in batches, then switch over.',
  'set-not-null':
    'SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock. Add CHECK (col IS NOT NULL) NOT VALID, ' +
    'VALIDATE CONSTRAINT in a later migration, then SET NOT NULL (PostgreSQL then skips the scan).',
  'create-index':
    'CREATE INDEX on an existing table blocks writes to it for the whole build. ' +
    'Use CREATE INDEX CONCURRENTLY in a migration marked -- crm:no-transaction.',
  truncate: 'TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock.',
} as const;

export type LintRule = keyof typeof LINT_RULES;

export interface LintFinding {
  readonly file: string;
  /** The rule broken, or `directive` for a malformed allow directive. */
  readonly rule: LintRule | 'directive';
  readonly line: number;
  /** One-line excerpt of the offending statement (or directive). */
  readonly statement: string;
  readonly message: string;
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)`;
const QNAME = String.raw`${IDENT}(?:\s*\.\s*${IDENT})*`;
const CREATE_TABLE = new RegExp(
  String.raw`\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?(?:TABLE|MATERIALIZED\s+VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(${QNAME})`,
  'gi',
);
const CREATE_INDEX = new RegExp(
  String.raw`\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:(?!ON\b)${IDENT}\s+)?ON\s+(?:ONLY\s+)?(${QNAME})`,
  'gi',
);
const ALTER_TABLE = new RegExp(
  String.raw`\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(${QNAME})\s*\*?\s*([^]*)$`,
  'i',
);
const DROP_TABLE = /\bDROP\s+TABLE\b/i;
const TRUNCATE = /\bTRUNCATE\b/i;
const ACTION_DROP_COLUMN = /^DROP\s+(?!CONSTRAINT\b)/i;
const ACTION_ALTER_TYPE = new RegExp(String.raw`^ALTER\s+(?:COLUMN\s+)?${IDENT}\s+(?:SET\s+DATA\s+)?TYPE\b`, 'i');
const ACTION_SET_NOT_NULL = new RegExp(String.raw`^ALTER\s+(?:COLUMN\s+)?${IDENT}\s+SET\s+NOT\s+NULL\b`, 'i');

/** Last component of a possibly qualified, possibly quoted name, as PostgreSQL folds it. */
function tableKey(qualified: string): string {
  const parts = qualified.match(new RegExp(IDENT, 'g')) ?? [qualified];
  const last = parts[parts.length - 1];
  return last.startsWith('"') ? last.slice(1, -1).replace(/""/g, '"') : last.toLowerCase();
}

/** Splits ALTER TABLE actions at top-level commas. */
function splitActions(actions: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < actions.length; i++) {
    const c = actions[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(actions.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(actions.slice(start).trim());
  return out.filter(Boolean);
}

interface LintUnit {
  /** Masked code of the statement. */
  readonly code: string;
  readonly text: string;
  readonly line: number;
}

/** Top-level statements plus the statements inside DO blocks (which run at migration time). */
function lintUnits(sql: string, lineOffset = 0): LintUnit[] {
  const units: LintUnit[] = [];
  for (const statement of splitStatements(sql)) {
    const line = statement.line + lineOffset;
    units.push({ code: statement.masked, text: statement.text, line });
    if (/^DO\b/i.test(statement.masked)) {
      const tag = /\$(?:[A-Za-z_][\w]*)?\$/.exec(statement.masked);
      if (!tag) continue;
      const bodyStart = tag.index + tag[0].length;
      const bodyEnd = statement.text.indexOf(tag[0], bodyStart);
      if (bodyEnd === -1) continue;
      const linesBefore = statement.text.slice(0, bodyStart).split('\n').length - 1;
      units.push(...lintUnits(statement.text.slice(bodyStart, bodyEnd), line - 1 + linesBefore));
    }
  }
  return units;
}

/** Lints one migration as a migration after the first (version 1 is exempt, see lintMigrations). */
export function lintMigration(migration: Pick<Migration, 'file' | 'sql'>): LintFinding[] {
  const { file, sql } = migration;
  const findings: LintFinding[] = [];
  const allowed = new Set<string>();
  for (const allow of parseDirectives(file, sql).allows) {
    const directive = `-- crm:allow ${allow.rule} ${allow.reason}`.trim();
    if (!(allow.rule in LINT_RULES)) {
      findings.push({
        file,
        rule: 'directive',
        line: allow.line,
        statement: directive,
        message: `unknown rule '${allow.rule}' in crm:allow (rules: ${Object.keys(LINT_RULES).join(', ')})`,
      });
    } else if (allow.reason === '') {
      findings.push({
        file,
        rule: 'directive',
        line: allow.line,
        statement: directive,
        message: `crm:allow ${allow.rule} needs a reason: -- crm:allow ${allow.rule} <why this is safe here>`,
      });
    } else {
      allowed.add(allow.rule);
    }
  }

  const units = lintUnits(sql);
  const created = new Set<string>();
  for (const unit of units) {
    for (const m of unit.code.matchAll(CREATE_TABLE)) created.add(tableKey(m[1]));
  }

  /** Reports at the line of the offending keyword (a unit from a DO block can span many lines). */
  const report = (rule: LintRule, unit: LintUnit, at: number) => {
    if (allowed.has(rule)) return;
    const line = unit.line + (unit.code.slice(0, at).match(/\n/g)?.length ?? 0);
    const from = unit.code.lastIndexOf('\n', at) + 1;
    findings.push({ file, rule, line, statement: excerpt(unit.text.slice(from)), message: LINT_RULES[rule] });
  };
  for (const unit of units) {
    const dropTable = DROP_TABLE.exec(unit.code);
    if (dropTable) report('drop-table', unit, dropTable.index);
    const truncate = TRUNCATE.exec(unit.code);
    if (truncate) report('truncate', unit, truncate.index);
    for (const m of unit.code.matchAll(CREATE_INDEX)) {
      if (!m[1] && !created.has(tableKey(m[2]))) report('create-index', unit, m.index ?? 0);
    }
    const alter = ALTER_TABLE.exec(unit.code);
    if (alter && !created.has(tableKey(alter[1]))) {
      for (const action of splitActions(alter[2])) {
        if (ACTION_DROP_COLUMN.test(action)) report('drop-column', unit, alter.index);
        if (ACTION_ALTER_TYPE.test(action)) report('alter-column-type', unit, alter.index);
        if (ACTION_SET_NOT_NULL.test(action)) report('set-not-null', unit, alter.index);
      }
    }
  }
  return findings;
}

/** Lints every migration after the first (version 1 creates the schema, so nothing exists yet). */
export function lintMigrations(migrations: readonly Pick<Migration, 'file' | 'sql' | 'version'>[]): LintFinding[] {
  return migrations.filter((m) => m.version > 1).flatMap((m) => lintMigration(m));
}

/** Findings as lines an engineer can act on: `file:line [rule] statement — why`. */
export function formatFindings(findings: readonly LintFinding[]): string {
  return findings.map((f) => `${f.file}:${f.line} [${f.rule}] ${f.statement} — ${f.message}`).join('\n');
}
