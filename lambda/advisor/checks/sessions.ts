/**
 * Rules (sessions of this database, the advisor's own excluded):
 * - `long-running-query` — state `active` for at least sessions.longRunningSeconds: `medium`,
 *   `high` from veryLongRunningSeconds.
 * - `idle-in-transaction` — state `idle in transaction[ (aborted)]` for at least
 *   idleInTransactionSeconds: `medium`, `high` from veryIdleInTransactionSeconds. Such a session
 *   holds its locks and its snapshot, so vacuum cannot remove rows dead since it began.
 *
 * pg_stat_activity.query is the statement as sent, literals included, which may be personal
 * data. Only pid, role, application, durations, state, wait event and a normalised,
 * truncated statement prefix (literals replaced by `?`) leave this function.
 */

import { CONFIG_FIELDS } from '../config-fields';
import { normaliseStatement } from '../normalise';
import type { Check, CheckContext, CheckResult, Finding, Severity } from '../types';

type Row = {
  pid: number;
  usename: string | null;
  application_name: string;
  state: string;
  query: string;
  query_seconds: number | null;
  state_seconds: number;
  xact_seconds: number | null;
  wait_event: string | null;
  backend_xmin_age: number | null;
  blocked_sessions: number;
};

const SQL = `
  SELECT a.pid, a.usename, a.application_name, a.state, a.query,
         EXTRACT(EPOCH FROM clock_timestamp() - a.query_start)::float8 AS query_seconds,
         EXTRACT(EPOCH FROM clock_timestamp() - a.state_change)::float8 AS state_seconds,
         EXTRACT(EPOCH FROM clock_timestamp() - a.xact_start)::float8 AS xact_seconds,
         CASE WHEN a.wait_event IS NULL THEN NULL ELSE a.wait_event_type || ':' || a.wait_event END AS wait_event,
         age(a.backend_xmin)::float8 AS backend_xmin_age,
         (SELECT count(*)::int FROM pg_stat_activity b WHERE a.pid = ANY (pg_blocking_pids(b.pid))) AS blocked_sessions
    FROM pg_stat_activity a
   WHERE a.datname = current_database()
     AND a.backend_type = 'client backend'
     AND a.pid <> pg_backend_pid()
     AND (
       (a.state = 'active' AND a.query_start < clock_timestamp() - make_interval(secs => $1))
       OR (a.state LIKE 'idle in transaction%' AND a.state_change < clock_timestamp() - make_interval(secs => $2))
     )
   ORDER BY a.xact_start NULLS LAST, a.pid`;

const COUNT_SQL = `
  SELECT count(*) FILTER (WHERE state = 'active' AND query_start < clock_timestamp() - make_interval(secs => $1))::int AS long_running,
         count(*) FILTER (WHERE state LIKE 'idle in transaction%')::int AS idle_in_tx
    FROM pg_stat_activity
   WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`;

function round(x: number | null): number | null {
  return x === null ? null : Math.round(x * 10) / 10;
}

export const sessions: Check = {
  name: 'sessions',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.sessions;
    const { rows } = await ctx.db.query<Row>(SQL, [t.longRunningSeconds, t.idleInTransactionSeconds]);
    const counts = (await ctx.db.query<{ long_running: number; idle_in_tx: number }>(COUNT_SQL, [t.longRunningSeconds]))
      .rows[0];
    const findings: Finding[] = rows.map((r) => {
      const idle = r.state.startsWith('idle in transaction');
      const durationSeconds = round(idle ? r.state_seconds : (r.query_seconds ?? 0)) ?? 0;
      const severity: Severity = idle
        ? durationSeconds >= t.veryIdleInTransactionSeconds
          ? 'high'
          : 'medium'
        : durationSeconds >= t.veryLongRunningSeconds
          ? 'high'
          : 'medium';
      return {
        id: idle ? 'idle-in-transaction' : 'long-running-query',
        severity,
        title: idle
          ? `Session ${r.pid} (${r.usename ?? '?'}, ${r.application_name || 'no application_name'}) has been idle in a transaction for ${durationSeconds} s`
          : `Session ${r.pid} (${r.usename ?? '?'}, ${r.application_name || 'no application_name'}) has run one statement for ${durationSeconds} s`,
        subject: `pid ${r.pid}`,
        evidence: {
          pid: r.pid,
          user: r.usename,
          application: r.application_name,
          state: r.state,
          durationSeconds,
          transactionSeconds: round(r.xact_seconds),
          waitEvent: r.wait_event,
          blockedSessions: r.blocked_sessions,
          backendXminAge: r.backend_xmin_age,
          statementPrefix: normaliseStatement(r.query, t.statementPrefixLength),
        },
        action: idle
          ? {
              description:
                'Fix the client that leaves transactions open (commit or roll back before doing other work). End this session if it blocks others; cap idle transactions server-side.',
              sql: [`SELECT pg_terminate_backend(${r.pid});`],
              config: { field: CONFIG_FIELDS.idleInTransactionSessionTimeoutMs, value: 60_000 },
            }
          : {
              description:
                'Find out whether it is expected (a report, a migration). If not, cancel it, and cap statement time for the application role.',
              sql: [`SELECT pg_cancel_backend(${r.pid});`, "ALTER ROLE crm_app SET statement_timeout = '30s';"],
              config: { field: CONFIG_FIELDS.statementTimeoutMs, value: 30_000 },
            },
      };
    });
    return {
      findings,
      metrics: { longRunningQueries: counts.long_running, idleInTransactionSessions: counts.idle_in_tx },
    };
  },
};
