/**
 * Rules:
 * - `sequence-exhaustion` — how much of its range a sequence has used, where the range ends at
 *   the sequence's own max_value or at the largest value of the narrowest integer column it
 *   feeds (a bigint sequence behind an `integer` key runs out at 2^31 − 1). `low` from
 *   sequences.lowRatio, `medium` from mediumRatio, `high` from highRatio. Widening a big
 *   table's key rewrites it, so the warning starts early.
 * - `sequences-unreadable` (info) — the advisor's role has no SELECT/USAGE on some sequences, so
 *   their position is unknown (pg_sequences shows NULL).
 */
import { severityAtLeast } from '../thresholds';
import type { Check, CheckContext, CheckResult, Finding } from '../types';

type Row = {
  sequence_name: string;
  schema_name: string;
  data_type: string;
  increment_by: string;
  min_value: string;
  max_value: string;
  last_value: string | null;
  readable: boolean;
  table_name: string | null;
  column_name: string | null;
  column_type: string | null;
};

const SQL = `
  WITH feeds AS (
    -- serial (OWNED BY) and identity columns depend on their sequence's owner column...
    SELECT d.objid AS seq_oid, d.refobjid AS table_oid, d.refobjsubid::int2 AS attnum
      FROM pg_depend d
     WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
       AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
    UNION
    -- ...and a column DEFAULT nextval('s') depends on the sequence
    SELECT d.refobjid, ad.adrelid, ad.adnum
      FROM pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid
     WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
  )
  SELECT format('%I.%I', s.schemaname, s.sequencename) AS sequence_name, format('%I', s.schemaname) AS schema_name,
         s.data_type::text AS data_type, s.increment_by::text AS increment_by,
         s.min_value::text AS min_value, s.max_value::text AS max_value, s.last_value::text AS last_value,
         has_sequence_privilege(c.oid, 'SELECT, USAGE') AS readable,
         CASE WHEN tc.oid IS NOT NULL THEN format('%I.%I', tn.nspname, tc.relname) END AS table_name,
         CASE WHEN a.attname IS NOT NULL THEN format('%I', a.attname) END AS column_name,
         CASE WHEN a.atttypid IS NOT NULL THEN format_type(a.atttypid, NULL) END AS column_type
    FROM pg_sequences s
    JOIN pg_namespace n ON n.nspname = s.schemaname
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename AND c.relkind = 'S'
    LEFT JOIN feeds f ON f.seq_oid = c.oid
    LEFT JOIN pg_class tc ON tc.oid = f.table_oid
    LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = f.table_oid AND a.attnum = f.attnum
   ORDER BY 1, table_name, column_name`;

const COLUMN_RANGE: Record<string, readonly [number, number]> = {
  smallint: [-32768, 32767],
  integer: [-2147483648, 2147483647],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

interface Usage {
  readonly ratio: number;
  readonly limit: number;
  readonly limitedBy: 'sequence' | 'column';
}

function usage(r: Row): Usage | undefined {
  if (r.last_value === null) return undefined;
  const last = Number(r.last_value);
  const min = Number(r.min_value);
  const max = Number(r.max_value);
  const ascending = Number(r.increment_by) > 0;
  const colRange = r.column_type ? COLUMN_RANGE[r.column_type] : undefined;
  if (ascending) {
    const columnMax = colRange?.[1] ?? Number.POSITIVE_INFINITY;
    const limit = Math.min(max, columnMax);
    const span = limit - min;
    return { ratio: span <= 0 ? 1 : (last - min) / span, limit, limitedBy: columnMax < max ? 'column' : 'sequence' };
  }
  const columnMin = colRange?.[0] ?? Number.NEGATIVE_INFINITY;
  const limit = Math.max(min, columnMin);
  const span = max - limit;
  return { ratio: span <= 0 ? 1 : (max - last) / span, limit, limitedBy: columnMin > min ? 'column' : 'sequence' };
}

export const sequences: Check = {
  name: 'sequences',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.sequences;
    const { rows } = await ctx.db.query<Row>(SQL);
    // one entry per sequence: the column that runs out first
    const bySequence = new Map<string, { row: Row; usage: Usage }>();
    const unreadable = new Set<string>();
    const unreadableSchemas = new Set<string>();
    for (const r of rows) {
      if (!r.readable) {
        unreadable.add(r.sequence_name);
        unreadableSchemas.add(r.schema_name);
        continue;
      }
      const u = usage(r);
      if (!u) continue;
      const prev = bySequence.get(r.sequence_name);
      if (!prev || u.ratio > prev.usage.ratio) bySequence.set(r.sequence_name, { row: r, usage: u });
    }
    const findings: Finding[] = [];
    let maxRatio = 0;
    for (const { row: r, usage: u } of bySequence.values()) {
      maxRatio = Math.max(maxRatio, u.ratio);
      const severity = severityAtLeast(u.ratio, [
        [t.highRatio, 'high'],
        [t.mediumRatio, 'medium'],
        [t.lowRatio, 'low'],
      ] as const);
      if (!severity) continue;
      const key = r.table_name && r.column_name ? `${r.table_name}.${r.column_name}` : undefined;
      const sql =
        u.limitedBy === 'column' && key
          ? [
              `ALTER TABLE ${r.table_name} ALTER COLUMN ${r.column_name} TYPE bigint;`,
              `ALTER SEQUENCE ${r.sequence_name} AS bigint;`,
            ]
          : [`ALTER SEQUENCE ${r.sequence_name} AS bigint;`];
      findings.push({
        id: 'sequence-exhaustion',
        severity,
        title: `${u.limitedBy === 'column' && key ? `Integer key ${key}` : `Sequence ${r.sequence_name}`} has used ${Math.round(u.ratio * 1000) / 10} % of its range`,
        subject: r.sequence_name,
        evidence: {
          sequence: r.sequence_name,
          sequenceType: r.data_type,
          lastValue: Number(r.last_value),
          limit: u.limit,
          limitedBy: u.limitedBy,
          usedRatio: Math.round(u.ratio * 10_000) / 10_000,
          remaining: Math.abs(u.limit - Number(r.last_value)),
          table: r.table_name,
          column: r.column_name,
          columnType: r.column_type,
        },
        action: {
          description:
            u.limitedBy === 'column'
              ? 'Widen the key to bigint before it runs out. ALTER COLUMN TYPE rewrites the table under an exclusive lock: on a big table add a bigint column, backfill in batches and swap instead, in a planned migration (and widen the foreign keys that reference it).'
              : 'Widen the sequence to bigint (and any column it feeds) before nextval() starts failing.',
          sql,
        },
      });
    }
    if (unreadable.size > 0) {
      findings.push({
        id: 'sequences-unreadable',
        severity: 'info',
        title: `${unreadable.size} sequence(s) could not be checked: no SELECT privilege`,
        evidence: { sequences: [...unreadable].slice(0, 20).map((s) => ({ sequence: s })), count: unreadable.size },
        action: {
          description:
            'Let the monitoring role read sequence positions (SELECT on a sequence shows its value, no table data) in a migration.',
          sql: [...unreadableSchemas].map(
            (schema) => `GRANT SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO crm_monitor;`,
          ),
        },
      });
    }
    return { findings, metrics: { maxSequenceUsageRatio: Math.round(maxRatio * 10_000) / 10_000 } };
  },
};
