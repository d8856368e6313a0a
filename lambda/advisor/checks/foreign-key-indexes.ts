/**
 * Rule `foreign-key-without-index`: a foreign key whose columns do not lead any valid,
 * non-partial index of the referencing table. Every DELETE (and key UPDATE) of a referenced
 * row then scans the referencing table to find its children — under a lock, once per deleted
 * row — and with ON DELETE CASCADE / SET NULL / SET DEFAULT each of those scans also writes.
 * `low` for a referencing table of at least foreignKeys.minRows rows (pg_class.reltuples, which
 * survives a statistics reset), `medium` when deletes cascade; smaller tables are listed in one
 * `info` finding, `foreign-keys-without-index-small`.
 */
import type { Check, CheckContext, CheckResult, Finding } from '../types';

type Row = {
  constraint_name: string;
  table_name: string;
  table_bare: string;
  referenced_table: string;
  columns: string;
  column_names: string;
  on_delete: string;
  rows: number;
  size_bytes: string;
};

const ACTIONS: Record<string, string> = {
  a: 'no action',
  r: 'restrict',
  c: 'cascade',
  n: 'set null',
  d: 'set default',
};

const SQL = `
  SELECT format('%I', c.conname) AS constraint_name,
         format('%I.%I', n.nspname, t.relname) AS table_name, t.relname AS table_bare,
         format('%I.%I', rn.nspname, rt.relname) AS referenced_table,
         (SELECT string_agg(format('%I', a.attname), ', ' ORDER BY k.ord)
            FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS columns,
         (SELECT string_agg(a.attname, '_' ORDER BY k.ord)
            FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS column_names,
         c.confdeltype::text AS on_delete,
         GREATEST(t.reltuples, COALESCE(s.n_live_tup, 0), 0)::float8 AS rows,
         pg_table_size(t.oid)::text AS size_bytes
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_class rt ON rt.oid = c.confrelid
    JOIN pg_namespace rn ON rn.oid = rt.relnamespace
    LEFT JOIN pg_stat_user_tables s ON s.relid = t.oid
   WHERE c.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND NOT EXISTS (
       SELECT 1 FROM pg_index i
        WHERE i.indrelid = c.conrelid AND i.indisvalid AND i.indpred IS NULL
          AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
          AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
   ORDER BY rows DESC, 2, 1`;

const CASCADING = new Set(['c', 'n', 'd']);

export const foreignKeyIndexes: Check = {
  name: 'foreign-key-indexes',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.foreignKeys;
    const { rows } = await ctx.db.query<Row>(SQL);
    const findings: Finding[] = [];
    const small: Row[] = [];
    for (const r of rows) {
      if (r.rows < t.minRows) {
        small.push(r);
        continue;
      }
      const cascades = CASCADING.has(r.on_delete);
      const indexName = `${r.table_bare}_${r.column_names}_idx`.slice(0, 63).replace(/"/g, '""');
      findings.push({
        id: 'foreign-key-without-index',
        severity: cascades ? 'medium' : 'low',
        title: `Foreign key ${r.constraint_name} on ${r.table_name} (${r.columns}) has no index${cascades ? `: every delete from ${r.referenced_table} cascades through a scan of ${r.table_name}` : ''}`,
        subject: `${r.table_name}.${r.constraint_name}`,
        evidence: {
          table: r.table_name,
          constraint: r.constraint_name,
          columns: r.columns,
          references: r.referenced_table,
          onDelete: ACTIONS[r.on_delete] ?? r.on_delete,
          cascadingDelete: cascades,
          estimatedRows: Math.round(r.rows),
          tableBytes: Number(r.size_bytes),
        },
        action: {
          description: `Index the foreign-key columns so deletes from ${r.referenced_table} find the ${cascades ? 'rows to cascade to' : 'referencing rows'} by index instead of scanning ${r.table_name} (CONCURRENTLY: writes continue; not inside a transaction block).`,
          sql: [`CREATE INDEX CONCURRENTLY IF NOT EXISTS "${indexName}" ON ${r.table_name} (${r.columns});`],
        },
      });
    }
    if (small.length > 0) {
      findings.push({
        id: 'foreign-keys-without-index-small',
        severity: 'info',
        title: `${small.length} foreign key(s) on small tables have no index`,
        evidence: {
          foreignKeys: small.map((r) => ({
            table: r.table_name,
            constraint: r.constraint_name,
            columns: r.columns,
            references: r.referenced_table,
            onDelete: ACTIONS[r.on_delete] ?? r.on_delete,
            estimatedRows: Math.round(r.rows),
          })),
        },
        action: {
          description: `Nothing to do while the tables are small (under ${t.minRows} rows); index them before they grow, cascading ones first.`,
        },
      });
    }
    return { findings, metrics: { foreignKeysWithoutIndex: rows.length } };
  },
};
