/**
 * Rule `blocked-sessions`: sessions of this database waiting for a lock another session holds
 * (pg_blocking_pids), one finding per blocker at the head of a chain (a session that blocks
 * others and waits for no one). `medium` when a blocked session has waited at least
 * sessions.blockedSeconds, `high` from veryBlockedSeconds; shorter waits are normal lock
 * traffic and not reported. Like the sessions check, only normalised statement prefixes
 * (literals replaced by `?`) leave this function.
 */
import { normaliseStatement } from '../normalise';
import type { Check, CheckContext, CheckResult, EvidenceRow, Finding, Severity } from '../types';

type Waiter = {
  pid: number;
  usename: string | null;
  application_name: string;
  query: string;
  wait_event: string | null;
  waiting_seconds: number;
  blocking_pids: number[];
};

type Holder = {
  pid: number;
  usename: string | null;
  application_name: string;
  state: string | null;
  query: string;
  xact_seconds: number | null;
  blocked_by: number[];
};

const WAITERS_SQL = `
  SELECT a.pid, a.usename, a.application_name, a.query,
         CASE WHEN a.wait_event IS NULL THEN NULL ELSE a.wait_event_type || ':' || a.wait_event END AS wait_event,
         EXTRACT(EPOCH FROM clock_timestamp() - a.query_start)::float8 AS waiting_seconds,
         pg_blocking_pids(a.pid) AS blocking_pids
    FROM pg_stat_activity a
   WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
     AND a.wait_event_type = 'Lock' AND cardinality(pg_blocking_pids(a.pid)) > 0
   ORDER BY a.query_start, a.pid`;

const HOLDERS_SQL = `
  SELECT a.pid, a.usename, a.application_name, a.state, a.query,
         EXTRACT(EPOCH FROM clock_timestamp() - a.xact_start)::float8 AS xact_seconds,
         pg_blocking_pids(a.pid) AS blocked_by
    FROM pg_stat_activity a WHERE a.pid = ANY ($1::int[])`;

const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);

export const blockedSessions: Check = {
  name: 'blocked-sessions',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.sessions;
    const waiters = (await ctx.db.query<Waiter>(WAITERS_SQL)).rows;
    if (waiters.length === 0) return { findings: [], metrics: { blockedSessions: 0 } };
    const byPid = new Map(waiters.map((w) => [w.pid, w]));
    const holderPids = [...new Set(waiters.flatMap((w) => w.blocking_pids))];
    const holders = new Map(
      (await ctx.db.query<Holder>(HOLDERS_SQL, [holderPids])).rows.map((h) => [h.pid, h] as const),
    );
    // walk each waiter's chain up to the blocker that waits for no one
    const root = (pid: number, seen = new Set<number>()): number => {
      const w = byPid.get(pid);
      if (!w || seen.has(pid)) return pid;
      seen.add(pid);
      const next = w.blocking_pids.find((p) => !seen.has(p));
      return next === undefined ? pid : root(next, seen);
    };
    const groups = new Map<number, Waiter[]>();
    for (const w of waiters) {
      const head = root(w.blocking_pids[0] ?? w.pid);
      groups.set(head, [...(groups.get(head) ?? []), w]);
    }
    const findings: Finding[] = [];
    for (const [pid, blocked] of groups) {
      const longest = Math.max(...blocked.map((w) => w.waiting_seconds));
      const severity: Severity | undefined =
        longest >= t.veryBlockedSeconds ? 'high' : longest >= t.blockedSeconds ? 'medium' : undefined;
      if (!severity) continue;
      const h = holders.get(pid);
      const blockedRows: EvidenceRow[] = blocked.map((w) => ({
        pid: w.pid,
        user: w.usename,
        application: w.application_name,
        waitEvent: w.wait_event,
        waitingSeconds: round(w.waiting_seconds),
        statementPrefix: normaliseStatement(w.query, t.statementPrefixLength),
      }));
      findings.push({
        id: 'blocked-sessions',
        severity,
        title: `Session ${pid} (${h?.usename ?? '?'}, ${h?.application_name || 'no application_name'}) blocks ${blocked.length} session(s), the longest waiting ${round(longest)} s`,
        subject: `pid ${pid}`,
        evidence: {
          blockerPid: pid,
          blockerUser: h?.usename ?? null,
          blockerApplication: h?.application_name ?? null,
          blockerState: h?.state ?? null,
          blockerTransactionSeconds: round(h?.xact_seconds ?? null),
          blockerStatementPrefix: h ? normaliseStatement(h.query, t.statementPrefixLength) : null,
          longestWaitSeconds: round(longest),
          blocked: blockedRows,
        },
        action: {
          description: h?.state?.startsWith('idle in transaction')
            ? 'The blocker is idle in a transaction: fix the client that leaves it open, and end the session now if the wait hurts.'
            : 'Find out what the blocker does (a migration, a batch job). Cancel its statement if it must not hold the lock; make writers take locks in a consistent order and keep transactions short.',
          sql: [`SELECT pg_cancel_backend(${pid});`, `SELECT pg_terminate_backend(${pid});`],
        },
      });
    }
    return { findings, metrics: { blockedSessions: waiters.length } };
  },
};
