/**
 * Rules: `pg-stat-statements-missing` (info), `top-statements-by-total-time` (info),
 * `top-statements-by-mean-time` (info), `slow-statement` (medium/high),
 * `intermittent-slow-statement` — fast on average (mean below statements.slowMeanMs) but with
 * calls of at least intermittentMaxMs, the slowest at least intermittentMaxToMean × the mean or
 * stddev ≥ mean: `low`, `medium` once a call took verySlowMeanMs (a lock wait, a cold cache, a
 * plan flip for some parameter values; the mean hides it) —, and
 * `pg-stat-statements-deallocations` (low): pg_stat_statements.max was reached and entries were
 * evicted (pg_stat_statements_info.dealloc), so rankings miss statements.
 *
 * pg_stat_statements keeps no percentiles, so p95 is approximated as mean + 1.645 × stddev
 * (the normal approximation) and labelled `p95ApproxMs` everywhere.
 */
import { CONFIG_FIELDS } from '../config-fields';
import { explainSql } from '../normalise';
import { NOT_ADVISOR_SQL } from '../sql-marker';
import { shownStatement } from '../statement-text';
import { severityAtLeast } from '../thresholds';
import type { Check, CheckContext, CheckResult, EvidenceRow, Finding } from '../types';

type StatementRow = {
  queryid: string;
  query: string;
  calls: string;
  total_ms: number;
  mean_ms: number;
  stddev_ms: number;
  max_ms: number;
  rows: string;
  shared_blks_hit: string;
  shared_blks_read: string;
};

// Only this database's statements: pg_stat_statements is cluster-wide, a report is about one database.
const STATEMENTS_SQL = (orderBy: 'total_exec_time' | 'mean_exec_time' | 'max_exec_time') => `
  SELECT queryid::text AS queryid, query, calls::text AS calls,
         total_exec_time AS total_ms, mean_exec_time AS mean_ms, stddev_exec_time AS stddev_ms,
         max_exec_time AS max_ms,
         rows::text AS rows, shared_blks_hit::text AS shared_blks_hit, shared_blks_read::text AS shared_blks_read
    FROM pg_stat_statements
   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND ${NOT_ADVISOR_SQL}
     AND calls >= $1
     AND query !~* '^\\s*(BEGIN|COMMIT|ROLLBACK|SET|SHOW|DISCARD|DEALLOCATE)\\y'
   ORDER BY ${orderBy} DESC
   LIMIT $2`;

const COUNT_SQL = `
  SELECT count(*)::int AS n
    FROM pg_stat_statements
   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND ${NOT_ADVISOR_SQL}`;

const DEALLOC_SQL = `
  SELECT dealloc::text AS dealloc,
         to_char(stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS stats_reset,
         current_setting('pg_stat_statements.max')::int AS max
    FROM pg_stat_statements_info`;

const Z95 = 1.645;

function toRow(r: StatementRow, textLength: number): EvidenceRow {
  const hit = Number(r.shared_blks_hit);
  const read = Number(r.shared_blks_read);
  return {
    queryId: r.queryid,
    statement: shownStatement(r.query, textLength),
    calls: Number(r.calls),
    totalMs: round(r.total_ms),
    meanMs: round(r.mean_ms),
    p95ApproxMs: round(r.mean_ms + Z95 * r.stddev_ms),
    maxMs: round(r.max_ms),
    rows: Number(r.rows),
    sharedHitRatio: hit + read === 0 ? null : round(hit / (hit + read), 4),
  };
}

function explainAll(rows: StatementRow[]): string[] {
  return rows
    .map((r) => explainSql(r.query))
    .filter((s): s is string => s !== undefined)
    .slice(0, 3);
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const topStatements: Check = {
  name: 'top-statements',
  async run(ctx: CheckContext): Promise<CheckResult> {
    if (!ctx.hasPgStatStatements) {
      return {
        findings: [
          {
            id: 'pg-stat-statements-missing',
            severity: 'info',
            title:
              ctx.pgStatStatements === 'not-preloaded'
                ? 'pg_stat_statements is installed but not loaded by the server: no statement statistics'
                : 'pg_stat_statements is not installed in this database: no statement statistics',
            evidence: { extension: 'pg_stat_statements', status: ctx.pgStatStatements },
            action:
              ctx.pgStatStatements === 'not-preloaded'
                ? {
                    description:
                      'Add pg_stat_statements to shared_preload_libraries (RDS includes it by default) and reboot.',
                  }
                : {
                    description:
                      'RDS preloads the library; create the extension once as the owner (a migration), then re-run the advisor after a representative workload.',
                    sql: ['CREATE EXTENSION IF NOT EXISTS pg_stat_statements;'],
                  },
          },
        ],
      };
    }
    const t = ctx.thresholds.statements;
    const byTotal = await ctx.db.query<StatementRow>(STATEMENTS_SQL('total_exec_time'), [1, t.topN]);
    const byMean = await ctx.db.query<StatementRow>(STATEMENTS_SQL('mean_exec_time'), [t.minCallsForMean, t.topN]);
    const count = await ctx.db.query<{ n: number }>(COUNT_SQL);
    const findings: Finding[] = [];
    if (byTotal.rows.length > 0) {
      findings.push({
        id: 'top-statements-by-total-time',
        severity: 'info',
        title: `Top ${byTotal.rows.length} statements by total execution time`,
        evidence: {
          note: 'p95ApproxMs = mean + 1.645 × stddev (normal approximation; pg_stat_statements keeps no percentiles)',
          statements: byTotal.rows.map((r) => toRow(r, t.textLength)),
        },
        action: {
          description:
            'Start tuning at the top: look at the plan of each statement with a generic plan (no parameter values needed).',
          sql: explainAll(byTotal.rows),
        },
      });
    }
    if (byMean.rows.length > 0) {
      findings.push({
        id: 'top-statements-by-mean-time',
        severity: 'info',
        title: `Top ${byMean.rows.length} statements by mean execution time (≥ ${t.minCallsForMean} calls)`,
        evidence: {
          note: 'p95ApproxMs = mean + 1.645 × stddev (normal approximation; pg_stat_statements keeps no percentiles)',
          statements: byMean.rows.map((r) => toRow(r, t.textLength)),
        },
        action: {
          description: 'Slow on every call: check the plan for sequential scans and sorts spilling to disk.',
          sql: explainAll(byMean.rows),
        },
      });
    }
    for (const r of byMean.rows) {
      const severity = severityAtLeast(r.mean_ms, [
        [t.verySlowMeanMs, 'high'],
        [t.slowMeanMs, 'medium'],
      ] as const);
      if (!severity) continue;
      const row = toRow(r, t.textLength);
      findings.push({
        id: 'slow-statement',
        severity,
        title: `Statement ${r.queryid} takes ${row.meanMs} ms on average over ${row.calls} calls`,
        subject: `queryid ${r.queryid}`,
        evidence: { ...row, slowMeanMs: t.slowMeanMs },
        action: {
          description:
            'Read the plan; add the index its filter or join needs, or rewrite the query. EXPLAIN (ANALYZE, BUFFERS) with real parameter values shows where the time goes.',
          sql: explainAll([r]),
        },
      });
    }
    const byMax = await ctx.db.query<StatementRow>(STATEMENTS_SQL('max_exec_time'), [t.minCallsForMean, t.topN]);
    for (const r of byMax.rows) {
      if (r.mean_ms >= t.slowMeanMs || r.max_ms < t.intermittentMaxMs) continue;
      if (r.max_ms < t.intermittentMaxToMean * r.mean_ms && r.stddev_ms < r.mean_ms) continue;
      const row = toRow(r, t.textLength);
      findings.push({
        id: 'intermittent-slow-statement',
        severity: r.max_ms >= t.verySlowMeanMs ? 'medium' : 'low',
        title: `Statement ${r.queryid} is usually fast (${row.meanMs} ms mean) but one call took ${row.maxMs} ms`,
        subject: `queryid ${r.queryid}`,
        evidence: { ...row, stddevMs: round(r.stddev_ms), intermittentMaxMs: t.intermittentMaxMs },
        action: {
          description:
            'Some calls are much slower than the rest: a lock wait (see blocked-sessions and log_lock_waits), a cold cache, or a plan that is bad for some parameter values. Log the slow calls with their plans (auto_explain, log_min_duration_statement) and compare EXPLAIN for those values.',
          sql: explainAll([r]),
        },
      });
    }
    const dealloc = (await ctx.db.query<{ dealloc: string; stats_reset: string | null; max: number }>(DEALLOC_SQL))
      .rows[0];
    const deallocations = Number(dealloc?.dealloc ?? 0);
    if (deallocations > 0) {
      findings.push({
        id: 'pg-stat-statements-deallocations',
        severity: 'low',
        title: `pg_stat_statements evicted entries ${deallocations} time(s): it tracks at most ${dealloc.max} statements`,
        evidence: {
          deallocations,
          pgStatStatementsMax: dealloc.max,
          statementsTracked: count.rows[0]?.n ?? 0,
          statsSince: dealloc.stats_reset,
        },
        action: {
          description:
            'Statistics of the least-used statements are dropped when the table is full, so rankings and slow-statement findings miss some. Raise pg_stat_statements.max (a restart applies it; each entry costs a few kB of shared memory), and look for statements that differ only in text (IN lists of varying length, generated SQL).',
          config: { field: CONFIG_FIELDS.pgStatStatementsMax, value: Math.min(dealloc.max * 2, 50_000) },
        },
      });
    }
    return { findings, metrics: { statementsTracked: count.rows[0]?.n ?? 0, statementDeallocations: deallocations } };
  },
};
