/**
 * Rule `not-valid-constraint` (low): a CHECK, foreign-key or NOT NULL constraint added
 * `NOT VALID` and never validated (pg_constraint.convalidated = false). New rows are checked;
 * rows from before are not, and the planner cannot rely on it (no constraint exclusion, and a
 * NOT VALID NOT NULL does not let SET NOT NULL skip its scan). VALIDATE CONSTRAINT takes only a
 * SHARE UPDATE EXCLUSIVE lock (a foreign key also ROW SHARE on the referenced table): reads and
 * writes continue.
 */
import type { Check, CheckContext, CheckResult, Finding } from '../types';

type Row = { constraint_name: string; table_name: string; kind: string; definition: string; live_rows: number };

const KINDS: Record<string, string> = { c: 'check', f: 'foreign key', n: 'not null' };

const SQL = `
  SELECT format('%I', c.conname) AS constraint_name,
         format('%I.%I', n.nspname, t.relname) AS table_name,
         c.contype::text AS kind, pg_get_constraintdef(c.oid) AS definition,
         GREATEST(t.reltuples, 0)::float8 AS live_rows
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
   WHERE NOT c.convalidated AND c.contype IN ('c', 'f', 'n')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   ORDER BY 2, 1`;

export const notValidConstraints: Check = {
  name: 'not-valid-constraints',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const { rows } = await ctx.db.query<Row>(SQL);
    const findings: Finding[] = rows.map((r) => ({
      id: 'not-valid-constraint',
      severity: 'low',
      title: `${KINDS[r.kind] ?? r.kind} constraint ${r.constraint_name} on ${r.table_name} is NOT VALID: rows from before it was added are unchecked`,
      subject: `${r.table_name}.${r.constraint_name}`,
      evidence: {
        table: r.table_name,
        constraint: r.constraint_name,
        kind: KINDS[r.kind] ?? r.kind,
        definition: r.definition,
        estimatedRows: Math.round(r.live_rows),
      },
      action: {
        description:
          'Validate it in a migration: it scans the table but blocks neither reads nor writes. If it fails, the error names a violating row: fix the data first.',
        sql: [`ALTER TABLE ${r.table_name} VALIDATE CONSTRAINT ${r.constraint_name};`],
      },
    }));
    return { findings };
  },
};
