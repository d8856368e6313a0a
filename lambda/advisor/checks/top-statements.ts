/**
 * Rules: `pg-stat-statements-missing` (info), `top-statements-by-total-time` (info),
 * `top-statements-by-mean-time` (info), `slow-statement` (medium/high).
 *
 * pg_stat_statements keeps no percentiles, so p95 is approximated as mean + 1.645 × stddev
 * (the normal approximation) and labelled `p95ApproxMs` everywhere.
 */
import { explainSql, normaliseStatement } from '../normalise';
import { NOT_ADVISOR_SQL } from '../sql-marker';
import { severityAtLeast } from '../thresholds';
import type { Check, CheckContext, CheckResult, EvidenceRow, Finding } from '../types';

type StatementRow = {
  queryid: string;
  query: string;
  calls: string;
  total_ms: number;
  mean_ms: number;
  stddev_ms: number;
  rows: string;
  shared_blks_hit: string;
  shared_blks_read: string;
};

// Only this database's statements: pg_stat_statements is cluster-wide, a report is about one database.
const STATEMENTS_SQL = (orderBy: 'total_exec_time' | 'mean_exec_time') => `
  SELECT queryid::text AS queryid, query, calls::text AS calls,
         total_exec_time AS total_ms, mean_exec_time AS mean_ms, stddev_exec_time AS stddev_ms,
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

const Z95 = 1.645;

function toRow(r: StatementRow, textLength: number): EvidenceRow {
  const hit = Number(r.shared_blks_hit);
  const read = Number(r.shared_blks_read);
  return {
    queryId: r.queryid,
    statement: normaliseStatement(r.query, textLength),
    calls: Number(r.calls),
    totalMs: round(r.total_ms),
    meanMs: round(r.mean_ms),
    p95ApproxMs: round(r.mean_ms + Z95 * r.stddev_ms),
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
    return { findings, metrics: { statementsTracked: count.rows[0]?.n ?? 0 } };
  },
};
