/**
 * Rules:
 * - `dead-tuples` — dead/(live+dead) ratio of a table with at least deadTuples.minTableRows rows
 *   (live+dead, or pg_class.reltuples after a statistics reset)
 *   and minDeadTuples dead tuples: `low` from lowRatio, `medium` from mediumRatio, `high` from
 *   highRatio when the table is also at least highMinBytes.
 * - `autovacuum-disabled` (medium) — a table with `autovacuum_enabled = false`: dead tuples
 *   pile up and transaction-ID freezing falls to the anti-wraparound vacuum alone.
 *
 * The bloat estimate is table size × dead ratio (labelled `estimatedBloatBytes`, method
 * `dead-tuple-ratio`): the monitoring role cannot read pg_stats column widths (they need SELECT
 * on the table), and the exact answer (pgstattuple) reads the whole table.
 */
import type { Check, CheckContext, CheckResult, Finding, Severity } from '../types';

type Row = {
  table_name: string;
  live: string;
  dead: string;
  size_bytes: string;
  reltuples: number;
  last_vacuum: string | null;
  last_autovacuum: string | null;
  autovacuum_enabled: boolean;
};

const SQL = `
  SELECT format('%I.%I', s.schemaname, s.relname) AS table_name,
         s.n_live_tup::text AS live, s.n_dead_tup::text AS dead,
         pg_table_size(s.relid)::text AS size_bytes, GREATEST(c.reltuples, 0)::float8 AS reltuples,
         to_char(s.last_vacuum AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_vacuum,
         to_char(s.last_autovacuum AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_autovacuum,
         NOT EXISTS (
           SELECT 1 FROM unnest(c.reloptions) o WHERE lower(o) IN ('autovacuum_enabled=false', 'autovacuum_enabled=off', 'autovacuum_enabled=0', 'autovacuum_enabled=no')
         ) AS autovacuum_enabled
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
   ORDER BY s.n_dead_tup DESC`;

export const deadTuples: Check = {
  name: 'dead-tuples',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.deadTuples;
    const { rows } = await ctx.db.query<Row>(SQL);
    const findings: Finding[] = [];
    let maxRatio = 0;
    let totalDead = 0;
    let totalBloat = 0;
    for (const r of rows) {
      const live = Number(r.live);
      const dead = Number(r.dead);
      const sizeBytes = Number(r.size_bytes);
      const ratio = live + dead === 0 ? 0 : dead / (live + dead);
      const bloat = Math.round(sizeBytes * ratio);
      totalDead += dead;
      totalBloat += bloat;
      if (!r.autovacuum_enabled) {
        findings.push({
          id: 'autovacuum-disabled',
          severity: 'medium',
          title: `Autovacuum is disabled on ${r.table_name}`,
          subject: r.table_name,
          evidence: { table: r.table_name, liveTuples: live, deadTuples: dead, lastVacuum: r.last_vacuum },
          action: {
            description:
              'Turn autovacuum back on for the table (tune its per-table scale factor instead of disabling it), then vacuum it once by hand to catch up.',
            sql: [`ALTER TABLE ${r.table_name} RESET (autovacuum_enabled);`, `VACUUM (ANALYZE) ${r.table_name};`],
          },
        });
      }
      // the size gate survives a statistics reset: pg_class.reltuples is not a counter
      if (Math.max(live + dead, r.reltuples) < t.minTableRows) continue;
      maxRatio = Math.max(maxRatio, ratio);
      if (dead < t.minDeadTuples) continue;
      let severity: Severity | undefined;
      if (ratio >= t.highRatio && sizeBytes >= t.highMinBytes) severity = 'high';
      else if (ratio >= t.mediumRatio) severity = 'medium';
      else if (ratio >= t.lowRatio) severity = 'low';
      if (!severity) continue;
      findings.push({
        id: 'dead-tuples',
        severity,
        title: `${r.table_name} is ${Math.round(ratio * 100)} % dead tuples (${dead} dead, ${live} live)`,
        subject: r.table_name,
        evidence: {
          table: r.table_name,
          liveTuples: live,
          deadTuples: dead,
          deadTupleRatio: round(ratio),
          tableBytes: sizeBytes,
          estimatedBloatBytes: bloat,
          bloatEstimateMethod: 'dead-tuple-ratio',
          lastVacuum: r.last_vacuum,
          lastAutovacuum: r.last_autovacuum,
          autovacuumEnabled: r.autovacuum_enabled,
        },
        action: {
          description:
            'VACUUM makes the space reusable (it does not block reads or writes). If the table stays bloated afterwards, rebuild it online with pg_repack, and lower its autovacuum_vacuum_scale_factor so vacuum runs earlier.',
          sql: [
            `VACUUM (ANALYZE, VERBOSE) ${r.table_name};`,
            `ALTER TABLE ${r.table_name} SET (autovacuum_vacuum_scale_factor = 0.05);`,
          ],
        },
      });
    }
    return {
      findings,
      metrics: { maxDeadTupleRatio: round(maxRatio), deadTuples: totalDead, estimatedBloatBytes: totalBloat },
    };
  },
};

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
