/**
 * Migration lint: a migration after the first must not destroy data or take long exclusive locks
 * on existing tables, unless it says why with `-- crm:allow <rule> <reason>`.
 *
 * The lint looks at code only: comments and string literals are blanked first (see lambda/shared/sql/statements.ts),
 * so commented-out SQL never matches. Bodies of `DO` blocks are linted too, because they run at
 * migration time; function bodies are not (they run later), nor is SQL built dynamically with
 * EXECUTE. It is a guard rail for honest mistakes, not a sandbox.
 */

import { excerpt, splitStatements } from '../shared/sql/statements';
import { parseDirectives } from './directives';
import type { Migration } from './migrations';

/** Each rule and why it is risky on a live database (shown in findings and docs/migrations.md). */
export const LINT_RULES = {
  'drop-table':
    'DROP TABLE destroys data, and the release still running during the deploy may read the table. ' +
    'Stop using it in one release and drop it in a later one, with an allow directive.',
  'drop-column':
    'DROP COLUMN destroys data and breaks the release still running during the deploy. ' +
    'Stop using the column in one release and drop it in a later one, with an allow directive.',
  'drop-schema': 'DROP SCHEMA destroys every object in the schema. Drop the objects one by one in later releases.',
  'alter-column-type':
    'ALTER COLUMN ... TYPE usually rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes. ' +
    'Add a new column, backfill it in batches, then switch over.',
  'set-not-null':
    'SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock. Add CHECK (col IS NOT NULL) NOT VALID, ' +
    'VALIDATE CONSTRAINT in a later migration, then SET NOT NULL (PostgreSQL then skips the scan).',
  'volatile-default':
    'ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval(), serial, identity) ' +
    'rewrites the table under an ACCESS EXCLUSIVE lock. Add the column without a default (or with a constant), ' +
    'set the default with ALTER COLUMN ... SET DEFAULT, and backfill in batches.',
  'stored-generated-column':
    'ADD COLUMN ... GENERATED ALWAYS AS (...) STORED rewrites the table under an ACCESS EXCLUSIVE lock. ' +
    'Use a VIRTUAL generated column (the PostgreSQL 18 default), or a plain column backfilled in batches.',
  'constraint-not-valid':
    'Adding a CHECK or FOREIGN KEY constraint validates every row while holding its lock (a FOREIGN KEY also locks the ' +
    'referenced table). Add it with NOT VALID, then VALIDATE CONSTRAINT in a later migration.',
  'validate-same-transaction':
    'VALIDATE CONSTRAINT in the transaction that added the constraint NOT VALID still holds the ACCESS EXCLUSIVE lock ' +
    'of the ADD while it scans the table. Validate in a later migration.',
  'add-unique-constraint':
    'ADD UNIQUE / PRIMARY KEY / EXCLUDE builds an index under an ACCESS EXCLUSIVE lock. Build it with ' +
    'CREATE UNIQUE INDEX CONCURRENTLY (in a -- crm:no-transaction migration), then ADD CONSTRAINT ... UNIQUE USING INDEX.',
  rename:
    'Renaming a table or column breaks the release still running during the deploy. Add the new name, ' +
    'move readers and writers over, and drop the old one in a later release.',
  'create-index':
    'CREATE INDEX on an existing table blocks writes to it for the whole build. ' +
    'Use CREATE INDEX CONCURRENTLY in a migration marked -- crm:no-transaction.',
  'drop-index':
    'DROP INDEX takes an ACCESS EXCLUSIVE lock on the table. Use DROP INDEX CONCURRENTLY in a migration marked ' +
    '-- crm:no-transaction.',
  reindex:
    'REINDEX blocks writes (and reads that would use the index) for the whole rebuild. Use REINDEX ... CONCURRENTLY ' +
    'in a migration marked -- crm:no-transaction.',
  'concurrently-in-transaction':
    'CONCURRENTLY cannot run inside a transaction block, and the runner wraps this file in one. ' +
    'Put the statement in its own migration marked -- crm:no-transaction.',
  truncate: 'TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock.',
  'vacuum-full':
    'VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock. Let autovacuum work, or use pg_repack outside migrations.',
  cluster: 'CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock. Use pg_repack outside migrations.',
  'lock-table':
    'LOCK TABLE queues every later query on the table behind it for the rest of the migration. ' +
    'Rely on the locks statements take, with the runner’s lock_timeout.',
} as const;

export type LintRule = keyof typeof LINT_RULES;

/** Rules an allow directive cannot silence: the statement cannot run as written. */
const NOT_ALLOWABLE: ReadonlySet<LintRule> = new Set(['concurrently-in-transaction']);

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
  String.raw`\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(${QNAME})\s*\*?\s*([\s\S]*)$`,
  'i',
);
const DROP_TABLE = /\bDROP\s+TABLE\b/i;
const DROP_SCHEMA = /^DROP\s+SCHEMA\b/i;
const TRUNCATE = /^TRUNCATE\b/i;
const DROP_INDEX = /^DROP\s+INDEX\b(?!\s+CONCURRENTLY\b)/i;
const REINDEX = /^REINDEX\b/i;
const VACUUM_FULL = /^VACUUM\b(?:\s*\([^)]*\bFULL\b(?!\s+(?:false|off|0)\b)[^)]*\)|\s+FULL\b)/i;
const CLUSTER = /^CLUSTER\b/i;
const LOCK_TABLE = /^LOCK\b/i;
/** Statements that cannot run in a transaction block because they say CONCURRENTLY. */
const CONCURRENTLY =
  /^(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|REINDEX|ALTER\s+TABLE\b[\s\S]*\bDETACH\s+PARTITION)\b[\s\S]*\bCONCURRENTLY\b/i;
const VALIDATE = new RegExp(String.raw`^VALIDATE\s+CONSTRAINT\s+(${IDENT})`, 'i');
const ACTION_DROP_COLUMN = /^DROP\s+(?!CONSTRAINT\b)/i;
const ACTION_ALTER_TYPE = new RegExp(String.raw`^ALTER\s+(?:COLUMN\s+)?${IDENT}\s+(?:SET\s+DATA\s+)?TYPE\b`, 'i');
const ACTION_SET_NOT_NULL = new RegExp(String.raw`^ALTER\s+(?:COLUMN\s+)?${IDENT}\s+SET\s+NOT\s+NULL\b`, 'i');
const ACTION_RENAME = /^RENAME\b(?!\s+CONSTRAINT\b)/i;
/** `ADD [CONSTRAINT name] CHECK | UNIQUE | PRIMARY KEY | FOREIGN KEY | EXCLUDE ...` */
const ACTION_ADD_CONSTRAINT = new RegExp(
  String.raw`^ADD\s+(?:CONSTRAINT\s+(${IDENT})\s+)?(CHECK|UNIQUE|PRIMARY\s+KEY|FOREIGN\s+KEY|EXCLUDE)\b`,
  'i',
);
const ACTION_ADD_COLUMN = /^ADD\b/i;
const NOT_VALID = /\bNOT\s+VALID\s*$/i;
const USING_INDEX = /\bUSING\s+INDEX\b/i;
const VOLATILE_DEFAULT =
  /\bDEFAULT\b[\s\S]*\b(?:random|gen_random_uuid|uuidv4|uuidv7|uuid_generate_v1|uuid_generate_v1mc|uuid_generate_v4|clock_timestamp|timeofday|nextval|txid_current|pg_current_xact_id)\s*\(/i;
const SERIAL_TYPE = new RegExp(
  String.raw`^ADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?${IDENT}\s+(?:small|big)?serial[248]?\b`,
  'i',
);
const IDENTITY = /\bGENERATED\s+(?:ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY\b/i;
const STORED_GENERATED = /\bGENERATED\s+ALWAYS\s+AS\s*\([\s\S]*\)\s*STORED\b/i;
const INLINE_CHECK_OR_FK = /\b(?:CHECK\s*\(|REFERENCES\b)/i;
const INLINE_UNIQUE = /\b(?:UNIQUE|PRIMARY\s+KEY)\b/i;

/** A name as PostgreSQL folds it: unquoted parts lower-cased, quoted parts as written. */
function foldName(qualified: string): string {
  const parts = qualified.match(new RegExp(IDENT, 'g')) ?? [qualified];
  return parts.map((p) => (p.startsWith('"') ? p.slice(1, -1).replace(/""/g, '"') : p.toLowerCase())).join('.');
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
  /** Where the SQL statement starts in `code`: after PL/pgSQL control words in a DO block. */
  readonly lead: number;
}

/** PL/pgSQL control structure before a statement in a DO block: `BEGIN`, `IF ... THEN`, `LOOP`, ... */
const PLPGSQL_PREFIX =
  /^(?:\s*(?:BEGIN|DECLARE|ELSE|LOOP|END\s+(?:IF|LOOP|CASE)|EXCEPTION\s+WHEN\b[\s\S]*?\bTHEN|(?:IF|ELSIF|WHEN)\b[\s\S]*?\bTHEN|(?:FOR|WHILE)\b[\s\S]*?\bLOOP)\b)*\s*/i;

/** Top-level statements plus the statements inside DO blocks (which run at migration time). */
function lintUnits(sql: string, lineOffset = 0, inDo = false): LintUnit[] {
  const units: LintUnit[] = [];
  for (const statement of splitStatements(sql)) {
    const line = statement.line + lineOffset;
    const lead = inDo ? (PLPGSQL_PREFIX.exec(statement.masked)?.[0].length ?? 0) : 0;
    units.push({ code: statement.masked, text: statement.text, line, lead });
    if (/^DO\b/i.test(statement.masked)) {
      const tag = /\$(?:[A-Za-z_][\w]*)?\$/.exec(statement.masked);
      if (!tag) continue;
      const bodyStart = tag.index + tag[0].length;
      const bodyEnd = statement.text.indexOf(tag[0], bodyStart);
      if (bodyEnd === -1) continue;
      const linesBefore = statement.text.slice(0, bodyStart).split('\n').length - 1;
      units.push(...lintUnits(statement.text.slice(bodyStart, bodyEnd), line - 1 + linesBefore, true));
    }
  }
  return units;
}

/** The allow directives of a file, with findings for malformed ones. */
function allowDirectives(file: string, sql: string): { allowed: Set<string>; findings: LintFinding[] } {
  const findings: LintFinding[] = [];
  const allowed = new Set<string>();
  for (const allow of parseDirectives(file, sql).allows) {
    const directive = `-- crm:allow ${allow.rule} ${allow.reason}`.trim();
    const problem = !(allow.rule in LINT_RULES)
      ? `unknown rule '${allow.rule}' in crm:allow (rules: ${Object.keys(LINT_RULES).join(', ')})`
      : NOT_ALLOWABLE.has(allow.rule as LintRule)
        ? `crm:allow ${allow.rule} cannot be allowed: the statement cannot run as the file is written`
        : allow.reason === ''
          ? `crm:allow ${allow.rule} needs a reason: -- crm:allow ${allow.rule} <why this is safe here>`
          : undefined;
    if (problem) findings.push({ file, rule: 'directive', line: allow.line, statement: directive, message: problem });
    else allowed.add(allow.rule);
  }
  return { allowed, findings };
}

/** Lints one migration as a migration after the first (version 1 is exempt, see lintMigrations). */
export function lintMigration(migration: Pick<Migration, 'file' | 'sql'>): LintFinding[] {
  const { file, sql } = migration;
  const { noTransaction } = parseDirectives(file, sql);
  const { allowed, findings } = allowDirectives(file, sql);

  const units = lintUnits(sql);
  const created = new Set<string>();
  for (const unit of units) {
    for (const m of unit.code.matchAll(CREATE_TABLE)) created.add(foldName(m[1]));
  }

  /** Reports at the line of the offending keyword (a unit from a DO block can span many lines). */
  const report = (rule: LintRule, unit: LintUnit, at: number) => {
    if (allowed.has(rule)) return;
    const line = unit.line + (unit.code.slice(0, at).match(/\n/g)?.length ?? 0);
    const from = unit.code.lastIndexOf('\n', at) + 1;
    findings.push({ file, rule, line, statement: excerpt(unit.text.slice(from)), message: LINT_RULES[rule] });
  };
  /** Constraints this file adds NOT VALID (a VALIDATE of one in the same transaction keeps the lock). */
  const addedNotValid = new Set<string>();
  const statementRules: [LintRule, RegExp][] = [
    ['drop-table', DROP_TABLE],
    ['drop-schema', DROP_SCHEMA],
    ['truncate', TRUNCATE],
    ['drop-index', DROP_INDEX],
    ['vacuum-full', VACUUM_FULL],
    ['cluster', CLUSTER],
    ['lock-table', LOCK_TABLE],
  ];
  for (const unit of units) {
    const statement = unit.code.slice(unit.lead);
    for (const [rule, re] of statementRules) {
      const m = re.exec(statement);
      if (m) report(rule, unit, unit.lead + m.index);
    }
    if (REINDEX.test(statement) && !/\bCONCURRENTLY\b/i.test(statement)) report('reindex', unit, unit.lead);
    if (!noTransaction && CONCURRENTLY.test(statement)) report('concurrently-in-transaction', unit, unit.lead);
    for (const m of unit.code.matchAll(CREATE_INDEX)) {
      if (!m[1] && !created.has(foldName(m[2]))) report('create-index', unit, m.index ?? 0);
    }
    const alter = ALTER_TABLE.exec(unit.code);
    if (!alter) continue;
    const existing = !created.has(foldName(alter[1]));
    for (const action of splitActions(alter[2])) {
      const validate = VALIDATE.exec(action);
      if (validate && !noTransaction && addedNotValid.has(foldName(validate[1]))) {
        report('validate-same-transaction', unit, alter.index);
      }
      const constraint = ACTION_ADD_CONSTRAINT.exec(action);
      if (constraint) {
        const kind = constraint[2].toUpperCase().replace(/\s+/g, ' ');
        const notValid = NOT_VALID.test(action);
        if (notValid && constraint[1]) addedNotValid.add(foldName(constraint[1]));
        if (!existing) continue;
        if ((kind === 'CHECK' || kind === 'FOREIGN KEY') && !notValid)
          report('constraint-not-valid', unit, alter.index);
        if (kind !== 'CHECK' && kind !== 'FOREIGN KEY' && !USING_INDEX.test(action)) {
          report('add-unique-constraint', unit, alter.index);
        }
        continue;
      }
      if (!existing) continue;
      if (ACTION_ADD_COLUMN.test(action)) {
        if (VOLATILE_DEFAULT.test(action) || SERIAL_TYPE.test(action) || IDENTITY.test(action)) {
          report('volatile-default', unit, alter.index);
        }
        if (STORED_GENERATED.test(action)) report('stored-generated-column', unit, alter.index);
        if (INLINE_CHECK_OR_FK.test(action)) report('constraint-not-valid', unit, alter.index);
        if (INLINE_UNIQUE.test(action)) report('add-unique-constraint', unit, alter.index);
        continue;
      }
      if (ACTION_DROP_COLUMN.test(action)) report('drop-column', unit, alter.index);
      if (ACTION_ALTER_TYPE.test(action)) report('alter-column-type', unit, alter.index);
      if (ACTION_SET_NOT_NULL.test(action)) report('set-not-null', unit, alter.index);
      if (ACTION_RENAME.test(action)) report('rename', unit, alter.index);
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}

/** Lints every migration after the first (version 1 creates the schema, so nothing exists yet). */
export function lintMigrations(migrations: readonly Pick<Migration, 'file' | 'sql' | 'version'>[]): LintFinding[] {
  return migrations.filter((m) => m.version > 1).flatMap((m) => lintMigration(m));
}

/** Findings as lines an engineer can act on: `file:line [rule] statement — why`. */
export function formatFindings(findings: readonly LintFinding[]): string {
  return findings.map((f) => `${f.file}:${f.line} [${f.rule}] ${f.statement} — ${f.message}`).join('\n');
}
