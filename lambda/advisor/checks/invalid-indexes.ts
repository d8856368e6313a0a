/**
 * Rule `invalid-index` (medium): an index with pg_index.indisvalid = false that no session is
 * building right now (pg_stat_progress_create_index) — what a failed or cancelled
 * CREATE INDEX CONCURRENTLY / REINDEX CONCURRENTLY leaves. The planner never uses it, but every
 * write still maintains it (when it is ready), a unique one still rejects duplicates, and
 * `CREATE INDEX … IF NOT EXISTS` in a migration skips it forever: the migration runner stops on
 * such an index rather than believe it was built.
 */
import type { Check, CheckContext, CheckResult, Finding } from '../types';

type Row = {
  index_name: string;
  table_name: string;
  size_bytes: string;
  definition: string;
  ready: boolean;
  is_unique: boolean;
  constraint_name: string | null;
};

const SQL = `
  SELECT format('%I.%I', n.nspname, ic.relname) AS index_name,
         format('%I.%I', n.nspname, tc.relname) AS table_name,
         pg_relation_size(i.indexrelid)::text AS size_bytes,
         pg_get_indexdef(i.indexrelid) AS definition,
         i.indisready AS ready, i.indisunique AS is_unique,
         (SELECT format('%I', c.conname) FROM pg_constraint c WHERE c.conindid = i.indexrelid LIMIT 1) AS constraint_name
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class tc ON tc.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = tc.relnamespace
   WHERE NOT i.indisvalid
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
     AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)
   ORDER BY 1`;

export const invalidIndexes: Check = {
  name: 'invalid-indexes',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const { rows } = await ctx.db.query<Row>(SQL);
    const findings: Finding[] = rows.map((r) => ({
      id: 'invalid-index',
      severity: 'medium',
      title: `Index ${r.index_name} on ${r.table_name} is INVALID (a failed concurrent build): unused by queries, still a cost to writes`,
      subject: r.index_name,
      evidence: {
        index: r.index_name,
        table: r.table_name,
        sizeBytes: Number(r.size_bytes),
        maintainedOnWrite: r.ready,
        unique: r.is_unique,
        constraint: r.constraint_name,
        definition: r.definition,
      },
      action: {
        description:
          'Rebuild it without blocking writes (REINDEX … CONCURRENTLY), or drop it and let the migration that creates it run again. Neither can run inside a transaction block.',
        sql: [`REINDEX INDEX CONCURRENTLY ${r.index_name};`],
        alternative: {
          description:
            'Or drop it, then re-run the migrations (their CREATE INDEX CONCURRENTLY IF NOT EXISTS builds it anew).',
          sql: [`DROP INDEX CONCURRENTLY IF EXISTS ${r.index_name};`],
        },
      },
    }));
    return { findings, metrics: { invalidIndexes: rows.length } };
  },
};
