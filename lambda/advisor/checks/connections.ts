/**
 * Rule `connection-usage`: client connections to the whole instance (max_connections is
 * instance-wide) over the usable slots, max_connections − superuser_reserved_connections −
 * reserved_connections. `low` from connections.lowRatio, `medium` from mediumRatio, `high`
 * from highRatio. Evidence breaks the count down by state, role and application (counts only).
 */
import { CONFIG_FIELDS } from '../config-fields';
import { severityAtLeast } from '../thresholds';
import type { Check, CheckContext, CheckResult } from '../types';

type Totals = { connections: number; max_connections: number; reserved: number };
type Group = { usename: string | null; application_name: string; state: string | null; n: number };

const TOTALS_SQL = `
  SELECT (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,
         current_setting('max_connections')::int AS max_connections,
         current_setting('superuser_reserved_connections')::int
           + COALESCE(current_setting('reserved_connections', true), '0')::int AS reserved`;

const GROUPS_SQL = `
  SELECT usename, application_name, state, count(*)::int AS n
    FROM pg_stat_activity WHERE backend_type = 'client backend'
   GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3 LIMIT 10`;

export const connections: Check = {
  name: 'connections',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.connections;
    const totals = (await ctx.db.query<Totals>(TOTALS_SQL)).rows[0];
    const usable = Math.max(totals.max_connections - totals.reserved, 1);
    const usage = Math.round((totals.connections / usable) * 10_000) / 10_000;
    const severity = severityAtLeast(usage, [
      [t.highRatio, 'high'],
      [t.mediumRatio, 'medium'],
      [t.lowRatio, 'low'],
    ] as const);
    const metrics = {
      connections: totals.connections,
      maxConnections: totals.max_connections,
      connectionUsageRatio: usage,
    };
    if (!severity) return { findings: [], metrics };
    const groups = (await ctx.db.query<Group>(GROUPS_SQL)).rows;
    return {
      metrics,
      findings: [
        {
          id: 'connection-usage',
          severity,
          title: `${totals.connections} of ${usable} usable connections in use (${Math.round(usage * 100)} %)`,
          evidence: {
            connections: totals.connections,
            maxConnections: totals.max_connections,
            reservedConnections: totals.reserved,
            connectionUsageRatio: usage,
            byClient: groups.map((g) => ({
              user: g.usename,
              application: g.application_name,
              state: g.state,
              connections: g.n,
            })),
          },
          action: {
            description:
              'Route clients through RDS Proxy and keep their pools small; close idle sessions. On RDS max_connections follows instance memory (LEAST(DBInstanceClassMemory/9531392, 5000)): a larger class raises it.',
            config: { field: CONFIG_FIELDS.instanceClass, value: 'the next size up' },
          },
        },
      ],
    };
  },
};
