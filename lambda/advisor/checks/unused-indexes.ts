/**
 * Rule `unused-index`: never scanned since statistics were reset (idx_scan = 0), not unique,
 * not a primary key, not backing a constraint (unique/exclusion), valid.
 * Severity by size: < unusedIndexes.minBytes info, < mediumBytes low, else medium. An index whose
 * leading columns cover a foreign key is at most `info`: it keeps deletes on the parent table
 * from scanning this one, which idx_scan does not show until a parent row is deleted.
 */
import type { Check, CheckContext, CheckResult, Finding, Severity } from '../types';

type Row = {
  index_name: string;
  table_name: string;
  size_bytes: string;
  definition: string;
  supports_foreign_key: boolean;
};

const SQL = `
  SELECT format('%I.%I', s.schemaname, s.indexrelname) AS index_name,
         format('%I.%I', s.schemaname, s.relname) AS table_name,
         pg_relation_size(s.indexrelid)::text AS size_bytes,
         pg_get_indexdef(s.indexrelid) AS definition,
         EXISTS (
           SELECT 1 FROM pg_constraint fk
            WHERE fk.contype = 'f' AND fk.conrelid = i.indrelid
              AND (i.indkey::int2[])[0:cardinality(fk.conkey) - 1] @> fk.conkey
              AND (i.indkey::int2[])[0:cardinality(fk.conkey) - 1] <@ fk.conkey
         ) AS supports_foreign_key
    FROM pg_stat_user_indexes s
    JOIN pg_index i ON i.indexrelid = s.indexrelid
   WHERE s.idx_scan = 0
     AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
     AND i.indisvalid
     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
   ORDER BY pg_relation_size(s.indexrelid) DESC, 1`;

export const unusedIndexes: Check = {
  name: 'unused-indexes',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.unusedIndexes;
    const { rows } = await ctx.db.query<Row>(SQL);
    const findings: Finding[] = rows.map((r) => {
      const sizeBytes = Number(r.size_bytes);
      let severity: Severity = sizeBytes < t.minBytes ? 'info' : sizeBytes < t.mediumBytes ? 'low' : 'medium';
      if (r.supports_foreign_key) severity = 'info';
      return {
        id: 'unused-index',
        severity,
        title: `Index ${r.index_name} on ${r.table_name} has never been scanned`,
        subject: r.index_name,
        evidence: {
          index: r.index_name,
          table: r.table_name,
          sizeBytes,
          indexScans: 0,
          supportsForeignKey: r.supports_foreign_key,
          definition: r.definition,
        },
        action: {
          description: r.supports_foreign_key
            ? 'It covers a foreign key: keep it if rows of the referenced table are ever deleted or their key updated. Otherwise drop it (check read replicas first: their scans are not counted here).'
            : 'Every write pays for it and nothing reads it. Check read replicas (their scans are not counted here) and that statistics cover a full business cycle, then drop it (CONCURRENTLY avoids blocking writes; it cannot run inside a transaction block).',
          sql: [`DROP INDEX CONCURRENTLY IF EXISTS ${r.index_name};`],
        },
      };
    });
    return {
      findings,
      metrics: {
        unusedIndexes: rows.length,
        unusedIndexBytes: rows.reduce((sum, r) => sum + Number(r.size_bytes), 0),
      },
    };
  },
};
