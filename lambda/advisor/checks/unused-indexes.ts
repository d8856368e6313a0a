/**
 * Rule `unused-index`: never scanned since statistics were reset (idx_scan = 0), not unique,
 * not a primary key, not backing a constraint (unique/exclusion), valid. `low` from
 * unusedIndexes.minBytes, `medium` from mediumBytes.
 * Rule `unused-indexes-small` (info): the unused indexes below minBytes, and those whose leading
 * columns cover a foreign key (they keep deletes on the parent table from scanning this one,
 * which idx_scan does not show until a parent row is deleted), listed together in one finding so
 * a young database's report is not a wall of them.
 * Rule `unused-indexes-pending` (info): the statistics are younger than
 * unusedIndexes.minStatsAgeDays (a reset — failover, crash recovery, pg_stat_reset — zeroes
 * idx_scan): nothing is proposed for dropping yet, the candidates are only counted. This keeps
 * the project's own search and list indexes, unused on a fresh or freshly reset database, from
 * being offered for DROP.
 */
import type { Check, CheckContext, CheckResult, Finding } from '../types';

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
    const findings: Finding[] = [];
    const metrics = {
      unusedIndexes: rows.length,
      unusedIndexBytes: rows.reduce((sum, r) => sum + Number(r.size_bytes), 0),
    };
    const minAgeSeconds = t.minStatsAgeDays * 86_400;
    if (rows.length > 0 && ctx.statisticsAgeSeconds < minAgeSeconds) {
      const age = ctx.statisticsAgeSeconds;
      const ageText =
        age < 120
          ? `${Math.round(age)} second(s)`
          : age < 3600
            ? `${Math.round(age / 60)} minute(s)`
            : age < 86_400
              ? `${Math.round(age / 3600)} hour(s)`
              : `${Math.round((age / 86_400) * 10) / 10} day(s)`;
      findings.push({
        id: 'unused-indexes-pending',
        severity: 'info',
        title: `${rows.length} index(es) not scanned yet, but the statistics are only ${ageText} old: too early to call them unused`,
        evidence: {
          candidates: rows.length,
          totalBytes: metrics.unusedIndexBytes,
          statisticsAgeSeconds: Math.round(ctx.statisticsAgeSeconds),
          requiredAgeDays: t.minStatsAgeDays,
        },
        action: {
          description: `Nothing to do: index usage is judged once the statistics cover ${t.minStatsAgeDays} days (a failover, crash recovery or pg_stat_reset starts them again).`,
        },
      });
      return { findings, metrics };
    }
    const small: Row[] = [];
    for (const r of rows) {
      const sizeBytes = Number(r.size_bytes);
      if (sizeBytes < t.minBytes || r.supports_foreign_key) {
        small.push(r);
        continue;
      }
      findings.push({
        id: 'unused-index',
        severity: sizeBytes < t.mediumBytes ? 'low' : 'medium',
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
          description:
            'Every write pays for it and nothing reads it. Check read replicas (their scans are not counted here) and that statistics cover a full business cycle, then drop it (CONCURRENTLY avoids blocking writes; it cannot run inside a transaction block).',
          sql: [`DROP INDEX CONCURRENTLY IF EXISTS ${r.index_name};`],
        },
      });
    }
    if (small.length > 0) {
      findings.push({
        id: 'unused-indexes-small',
        severity: 'info',
        title: `${small.length} small or foreign-key indexes have never been scanned`,
        evidence: {
          totalBytes: small.reduce((sum, r) => sum + Number(r.size_bytes), 0),
          indexes: small.map((r) => ({
            index: r.index_name,
            table: r.table_name,
            sizeBytes: Number(r.size_bytes),
            supportsForeignKey: r.supports_foreign_key,
          })),
        },
        action: {
          description: `Nothing to do yet: re-check once they pass ${Math.round(t.minBytes / 1024 / 1024)} MB or the statistics cover a full business cycle. Keep foreign-key indexes if rows of the referenced table are ever deleted.`,
        },
      });
    }
    return { findings, metrics };
  },
};
