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
  /** pg_attribute.attidentity: 'a' (ALWAYS), 'd' (BY DEFAULT), '' (not an identity column). */
  identity: string | null;
};

type KeyRow = {
  pk_name: string | null;
  referencing: { constraint: string; table: string; column: string; columnType: string; definition: string }[];
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
         CASE WHEN a.atttypid IS NOT NULL THEN format_type(a.atttypid, NULL) END AS column_type,
         a.attidentity::text AS identity
    FROM pg_sequences s
    JOIN pg_namespace n ON n.nspname = s.schemaname
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename AND c.relkind = 'S'
    LEFT JOIN feeds f ON f.seq_oid = c.oid
    LEFT JOIN pg_class tc ON tc.oid = f.table_oid
    LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = f.table_oid AND a.attnum = f.attnum
   ORDER BY 1, table_name, column_name`;

// The key's primary key (when it is the whole key) and the single-column foreign keys that
// reference it: they have to be widened with it, or inserting a child row past 2^31 − 1 fails.
const KEY_SQL = `
  SELECT (SELECT format('%I', c.conname) FROM pg_constraint c
           WHERE c.conrelid = a.attrelid AND c.contype = 'p' AND c.conkey = ARRAY[a.attnum]) AS pk_name,
         COALESCE((
           SELECT json_agg(json_build_object(
                    'constraint', format('%I', f.conname),
                    'table', format('%I.%I', fn.nspname, fc.relname),
                    'column', format('%I', fa.attname),
                    'columnType', format_type(fa.atttypid, NULL),
                    'definition', pg_get_constraintdef(f.oid)) ORDER BY fn.nspname, fc.relname, f.conname)
             FROM pg_constraint f
             JOIN pg_class fc ON fc.oid = f.conrelid
             JOIN pg_namespace fn ON fn.oid = fc.relnamespace
             JOIN pg_attribute fa ON fa.attrelid = f.conrelid AND fa.attnum = f.conkey[1]
            WHERE f.contype = 'f' AND f.confrelid = a.attrelid AND f.confkey = ARRAY[a.attnum]
         ), '[]'::json) AS referencing
    FROM pg_attribute a
   WHERE a.attrelid = $1::regclass AND quote_ident(a.attname) = $2`;

const COLUMN_RANGE: Record<string, readonly [number, number]> = {
  smallint: [-32768, 32767],
  integer: [-2147483648, 2147483647],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

const NARROW = new Set(['smallint', 'integer']);

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
  // An int2/int4 column as wide as its sequence limits it as much as the sequence does, and only
  // widening the column helps: ALTER SEQUENCE ... AS bigint alone lets an identity column hand out
  // values the column cannot hold (PostgreSQL 18 wraps them to negative ids without an error).
  const narrowColumn = r.column_type !== null && NARROW.has(r.column_type);
  if (ascending) {
    const columnMax = colRange?.[1] ?? Number.POSITIVE_INFINITY;
    const limit = Math.min(max, columnMax);
    const span = limit - min;
    return {
      ratio: span <= 0 ? 1 : (last - min) / span,
      limit,
      limitedBy: columnMax < max || (narrowColumn && columnMax <= max) ? 'column' : 'sequence',
    };
  }
  const columnMin = colRange?.[0] ?? Number.NEGATIVE_INFINITY;
  const limit = Math.max(min, columnMin);
  const span = max - limit;
  return {
    ratio: span <= 0 ? 1 : (max - last) / span,
    limit,
    limitedBy: columnMin > min || (narrowColumn && columnMin >= min) ? 'column' : 'sequence',
  };
}

/** The direct fix: widen the referencing columns, the key, and (serial/DEFAULT nextval) the sequence. */
function widenSql(r: Row, key: KeyRow): string[] {
  const sql = [`ALTER TABLE ${r.table_name} ALTER COLUMN ${r.column_name} TYPE bigint;`];
  for (const ref of key.referencing) {
    if (NARROW.has(ref.columnType)) sql.push(`ALTER TABLE ${ref.table} ALTER COLUMN ${ref.column} TYPE bigint;`);
  }
  // an identity column's sequence follows the column's new type; a serial's does not
  if (!r.identity && r.data_type !== 'bigint') sql.push(`ALTER SEQUENCE ${r.sequence_name} AS bigint;`);
  return sql;
}

/**
 * The online alternative for a big table whose key is its primary key: a bigint copy of the
 * column kept in step by a trigger, backfilled in batches, indexed concurrently, then swapped in
 * one short transaction. Every statement runs as written (the backfill is repeated until it
 * updates no row).
 */
function batchedSql(r: Row, key: KeyRow): string[] | undefined {
  if (!key.pk_name || !r.table_name || !r.column_name) return undefined;
  const t = r.table_name;
  const col = r.column_name;
  const bare = (ident: string) => ident.replace(/^"|"$/g, '');
  const lit = (text: string) => text.replace(/'/g, "''");
  const tableBare = bare(t.split('.').pop() ?? t);
  const tmp = `"${bare(col)}_bigint"`;
  const fn = `${t.split('.')[0]}."${tableBare}_${bare(col)}_bigint_sync"`;
  const idx = `"${tableBare}_${bare(col)}_bigint_key"`;
  const check = `"${tableBare}_${bare(col)}_bigint_not_null"`;
  const generated = r.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT';
  return [
    `ALTER TABLE ${t} ADD COLUMN ${tmp} bigint;`,
    `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.${tmp} := NEW.${col}; RETURN NEW; END $$;`,
    `CREATE TRIGGER ${tmp.replace(/"$/, '_sync"')} BEFORE INSERT OR UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${fn}();`,
    `UPDATE ${t} SET ${tmp} = ${col} WHERE ${col} IN (SELECT ${col} FROM ${t} WHERE ${tmp} IS NULL LIMIT 10000); -- repeat, one transaction per batch, until it updates 0 rows`,
    `CREATE UNIQUE INDEX CONCURRENTLY ${idx} ON ${t} (${tmp});`,
    `ALTER TABLE ${t} ADD CONSTRAINT ${check} CHECK (${tmp} IS NOT NULL) NOT VALID;`,
    `ALTER TABLE ${t} VALIDATE CONSTRAINT ${check};`,
    'BEGIN;',
    `LOCK TABLE ${t} IN ACCESS EXCLUSIVE MODE;`,
    ...key.referencing.map((ref) => `ALTER TABLE ${ref.table} DROP CONSTRAINT ${ref.constraint};`),
    `ALTER TABLE ${t} DROP CONSTRAINT ${key.pk_name};`,
    ...(r.identity
      ? [
          // the validated CHECK lets SET NOT NULL skip the scan; the new identity continues where the old one is
          `ALTER TABLE ${t} ALTER COLUMN ${tmp} SET NOT NULL;`,
          `ALTER TABLE ${t} ALTER COLUMN ${tmp} ADD GENERATED ${generated} AS IDENTITY;`,
          `SELECT setval(pg_get_serial_sequence('${lit(t)}', '${lit(bare(tmp))}'), GREATEST((SELECT last_value FROM ${r.sequence_name}), (SELECT COALESCE(max(${col}), 1) FROM ${t})));`,
        ]
      : [`ALTER TABLE ${t} ALTER COLUMN ${col} DROP DEFAULT;`, `ALTER SEQUENCE ${r.sequence_name} OWNED BY NONE;`]),
    `DROP TRIGGER ${tmp.replace(/"$/, '_sync"')} ON ${t};`,
    `DROP FUNCTION ${fn}();`,
    `ALTER TABLE ${t} DROP COLUMN ${col};`,
    `ALTER TABLE ${t} RENAME COLUMN ${tmp} TO ${col};`,
    `ALTER TABLE ${t} ADD CONSTRAINT ${key.pk_name} PRIMARY KEY USING INDEX ${idx};`,
    `ALTER TABLE ${t} DROP CONSTRAINT ${check};`,
    ...(r.identity
      ? []
      : [
          `ALTER SEQUENCE ${r.sequence_name} AS bigint OWNED BY ${t}.${col};`,
          `ALTER TABLE ${t} ALTER COLUMN ${col} SET DEFAULT nextval('${lit(r.sequence_name)}');`,
        ]),
    ...key.referencing.map(
      (ref) => `ALTER TABLE ${ref.table} ADD CONSTRAINT ${ref.constraint} ${ref.definition} NOT VALID;`,
    ),
    'COMMIT;',
    ...key.referencing.map((ref) => `ALTER TABLE ${ref.table} VALIDATE CONSTRAINT ${ref.constraint};`),
  ];
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
      const widenColumn = u.limitedBy === 'column' && key !== undefined;
      const keyInfo = widenColumn
        ? ((await ctx.db.query<KeyRow>(KEY_SQL, [r.table_name, r.column_name])).rows[0] ?? {
            pk_name: null,
            referencing: [],
          })
        : undefined;
      const batched = keyInfo ? batchedSql(r, keyInfo) : undefined;
      findings.push({
        id: 'sequence-exhaustion',
        severity,
        title: `${widenColumn ? `Integer key ${key}` : `Sequence ${r.sequence_name}`} has used ${Math.round(u.ratio * 1000) / 10} % of its range`,
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
          identity: r.identity ? (r.identity === 'a' ? 'always' : 'by default') : null,
          ...(keyInfo
            ? {
                referencingColumns: keyInfo.referencing.map((ref) => ({
                  table: ref.table,
                  column: ref.column,
                  columnType: ref.columnType,
                  constraint: ref.constraint,
                })),
              }
            : {}),
        },
        action: widenColumn
          ? {
              description: `Widen the key column to bigint before it runs out: widening only the sequence (ALTER SEQUENCE … AS bigint) lets it hand out values the ${r.column_type} column cannot hold. ALTER COLUMN … TYPE bigint rewrites the table and its indexes under an ACCESS EXCLUSIVE lock (reads and writes wait for the whole rewrite): fine for a small table in a planned migration; for a big one use the online alternative.`,
              sql: widenSql(r, keyInfo as KeyRow),
              ...(batched
                ? {
                    alternative: {
                      description:
                        'Online, for a big table: a bigint copy of the key kept in step by a trigger, backfilled in batches, indexed concurrently, then swapped in one short transaction (referencing foreign keys are re-added NOT VALID and validated afterwards, without blocking writes). Widen referencing int columns the same way.',
                      sql: batched,
                    },
                  }
                : {}),
            }
          : {
              description: 'Widen the sequence to bigint (and any column it feeds) before nextval() starts failing.',
              sql: [`ALTER SEQUENCE ${r.sequence_name} AS bigint;`],
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
