/**
 * Rule `cache-hit-ratio`: shared-buffer hit ratio of this database since statistics were reset,
 * blks_hit / (blks_hit + blks_read). Reads served by the OS page cache count as misses here, so
 * the figure is a floor. With fewer than cache.minBlockAccesses accesses it is `info` only;
 * otherwise `low` below cache.lowRatio, `medium` below mediumRatio, `high` below highRatio.
 * The table and index ratios (pg_statio_user_*) are in the evidence.
 */
import { CONFIG_FIELDS } from '../config-fields';
import type { Check, CheckContext, CheckResult, Severity } from '../types';

type Row = { hit: string; read: string; table_hit: string; table_read: string; index_hit: string; index_read: string };

const SQL = `
  SELECT d.blks_hit::text AS hit, d.blks_read::text AS read,
         (SELECT COALESCE(sum(heap_blks_hit), 0)::text FROM pg_statio_user_tables) AS table_hit,
         (SELECT COALESCE(sum(heap_blks_read), 0)::text FROM pg_statio_user_tables) AS table_read,
         (SELECT COALESCE(sum(idx_blks_hit), 0)::text FROM pg_statio_user_indexes) AS index_hit,
         (SELECT COALESCE(sum(idx_blks_read), 0)::text FROM pg_statio_user_indexes) AS index_read
    FROM pg_stat_database d WHERE d.datname = current_database()`;

function ratio(hit: number, read: number): number | null {
  return hit + read === 0 ? null : Math.round((hit / (hit + read)) * 10_000) / 10_000;
}

export const cacheHit: Check = {
  name: 'cache-hit',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.cache;
    const r = (await ctx.db.query<Row>(SQL)).rows[0];
    const hit = Number(r.hit);
    const read = Number(r.read);
    const cacheHitRatio = ratio(hit, read);
    if (cacheHitRatio === null) return { findings: [] };
    let severity: Severity | undefined;
    if (hit + read < t.minBlockAccesses) severity = cacheHitRatio < t.lowRatio ? 'info' : undefined;
    else if (cacheHitRatio < t.highRatio) severity = 'high';
    else if (cacheHitRatio < t.mediumRatio) severity = 'medium';
    else if (cacheHitRatio < t.lowRatio) severity = 'low';
    const evidence = {
      cacheHitRatio,
      blocksHit: hit,
      blocksRead: read,
      tableHitRatio: ratio(Number(r.table_hit), Number(r.table_read)),
      indexHitRatio: ratio(Number(r.index_hit), Number(r.index_read)),
      targetRatio: t.lowRatio,
    };
    const findings = severity
      ? [
          {
            id: 'cache-hit-ratio',
            severity,
            title:
              hit + read < t.minBlockAccesses
                ? `Cache hit ratio ${(cacheHitRatio * 100).toFixed(1)} % over only ${hit + read} block accesses: too little activity to judge`
                : `Cache hit ratio is ${(cacheHitRatio * 100).toFixed(2)} % (target ≥ ${t.lowRatio * 100} %)`,
            evidence,
            action: {
              description:
                'The working set does not fit in shared_buffers. First remove waste (unused/duplicate indexes, bloat, sequential scans), then give the database more memory: a larger instance class.',
              config: { field: CONFIG_FIELDS.instanceClass, value: 'the next size up' },
            },
          },
        ]
      : [];
    return { findings, metrics: { cacheHitRatio } };
  },
};
