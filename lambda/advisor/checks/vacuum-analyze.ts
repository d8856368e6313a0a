/**
 * Rules, computed the way autovacuum decides (per-table reloptions override the settings):
 * - `vacuum-overdue` — n_dead_tup above the autovacuum trigger
 *   min(autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor × reltuples,
 *       autovacuum_vacuum_max_threshold (PostgreSQL 18)).
 *   `low` (autovacuum is behind, or a snapshot caught it just before it ran); `medium` above
 *   vacuum.mediumOverdueFactor × the trigger, or when autovacuum is disabled on the table.
 * - `analyze-overdue` (low) — n_mod_since_analyze above
 *   autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × reltuples.
 * - `never-analyzed` (medium) — at least vacuum.neverAnalyzedMinRows live rows and no
 *   statistics at all: the planner guesses. After a statistics reset only reltuples = -1 proves
 *   it (the last-analyse times are gone with the counters).
 * - `xid-wraparound` — age(datfrozenxid)/2^31: `medium` from vacuum.xidMediumRatio, `high` from
 *   xidHighRatio, `low` while above 1.5 × autovacuum_freeze_max_age (freezing is not keeping up).
 */
import { severityAtLeast } from '../thresholds';
import type { Check, CheckContext, CheckResult, Finding, Severity } from '../types';

/** The table's reloption if set, else the server setting. */
function opt(name: string): string {
  return `COALESCE((SELECT split_part(o, '=', 2) FROM unnest(c.reloptions) o WHERE o LIKE '${name}=%' LIMIT 1), current_setting('${name}', true))::float8`;
}

type Row = {
  table_name: string;
  live: string;
  dead: string;
  mod_since_analyze: string;
  vacuum_trigger: number;
  analyze_trigger: number;
  never_analyzed: boolean;
  autovacuum_enabled: boolean;
  last_autovacuum: string | null;
  last_autoanalyze: string | null;
};

const TABLES_SQL = `
  WITH t AS (
    SELECT format('%I.%I', s.schemaname, s.relname) AS table_name,
           s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze,
           s.last_autovacuum, s.last_autoanalyze,
           -- after a statistics reset the last_*analyze times are NULL too: then only
           -- reltuples = -1 (never vacuumed or analysed, PostgreSQL 14+) proves it
           (s.last_analyze IS NULL AND s.last_autoanalyze IS NULL
             AND (c.reltuples < 0 OR (SELECT stats_reset IS NULL FROM pg_stat_database WHERE datname = current_database())))
             AS never_analyzed,
           GREATEST(c.reltuples, 0) AS reltuples,
           ${opt('autovacuum_vacuum_threshold')} AS vac_base,
           ${opt('autovacuum_vacuum_scale_factor')} AS vac_scale,
           ${opt('autovacuum_vacuum_max_threshold')} AS vac_max,
           ${opt('autovacuum_analyze_threshold')} AS an_base,
           ${opt('autovacuum_analyze_scale_factor')} AS an_scale,
           COALESCE((SELECT lower(split_part(o, '=', 2)) NOT IN ('false', 'off', '0', 'no')
                       FROM unnest(c.reloptions) o WHERE o LIKE 'autovacuum_enabled=%' LIMIT 1), true)
             AND current_setting('autovacuum') = 'on' AS autovacuum_enabled
      FROM pg_stat_user_tables s
      JOIN pg_class c ON c.oid = s.relid
  )
  SELECT table_name, n_live_tup::text AS live, n_dead_tup::text AS dead,
         n_mod_since_analyze::text AS mod_since_analyze,
         CASE WHEN vac_max IS NOT NULL AND vac_max >= 0
              THEN LEAST(vac_base + vac_scale * reltuples, vac_max)
              ELSE vac_base + vac_scale * reltuples END AS vacuum_trigger,
         an_base + an_scale * reltuples AS analyze_trigger,
         never_analyzed, autovacuum_enabled,
         to_char(last_autovacuum AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_autovacuum,
         to_char(last_autoanalyze AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS last_autoanalyze
    FROM t
   ORDER BY n_dead_tup DESC, table_name`;

const XID_SQL = `
  SELECT age(datfrozenxid)::float8 AS xid_age,
         current_setting('autovacuum_freeze_max_age')::float8 AS freeze_max_age,
         pg_database_size(oid)::text AS size_bytes
    FROM pg_database WHERE datname = current_database()`;

const OLDEST_TABLES_SQL = `
  SELECT format('%I.%I', n.nspname, c.relname) AS table_name, age(c.relfrozenxid)::float8 AS xid_age
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'm', 't') AND c.relfrozenxid <> '0'::xid
   ORDER BY age(c.relfrozenxid) DESC LIMIT 5`;

const XID_LIMIT = 2 ** 31;

export const vacuumAnalyze: Check = {
  name: 'vacuum-analyze',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.vacuum;
    const { rows } = await ctx.db.query<Row>(TABLES_SQL);
    const findings: Finding[] = [];
    let needVacuum = 0;
    let needAnalyze = 0;
    for (const r of rows) {
      const live = Number(r.live);
      const dead = Number(r.dead);
      const mods = Number(r.mod_since_analyze);
      const vacuumTrigger = Math.round(r.vacuum_trigger);
      const analyzeTrigger = Math.round(r.analyze_trigger);
      if (dead > vacuumTrigger) {
        needVacuum++;
        const severity: Severity =
          !r.autovacuum_enabled || dead > t.mediumOverdueFactor * vacuumTrigger ? 'medium' : 'low';
        findings.push({
          id: 'vacuum-overdue',
          severity,
          title: `${r.table_name} has ${dead} dead tuples, over its autovacuum trigger of ${vacuumTrigger}`,
          subject: r.table_name,
          evidence: {
            table: r.table_name,
            deadTuples: dead,
            autovacuumTrigger: vacuumTrigger,
            liveTuples: live,
            autovacuumEnabled: r.autovacuum_enabled,
            lastAutovacuum: r.last_autovacuum,
          },
          action: {
            description: r.autovacuum_enabled
              ? 'Vacuum it now; if this recurs, autovacuum cannot keep up: raise autovacuum_vacuum_cost_limit or lower the table’s scale factor.'
              : 'Vacuum it now and re-enable autovacuum on the table.',
            sql: [
              `VACUUM (ANALYZE) ${r.table_name};`,
              ...(r.autovacuum_enabled ? [] : [`ALTER TABLE ${r.table_name} RESET (autovacuum_enabled);`]),
            ],
          },
        });
      }
      if (r.never_analyzed && live >= t.neverAnalyzedMinRows) {
        needAnalyze++;
        findings.push({
          id: 'never-analyzed',
          severity: 'medium',
          title: `${r.table_name} has ${live} rows and has never been analysed: the planner is guessing`,
          subject: r.table_name,
          evidence: { table: r.table_name, liveTuples: live, modificationsSinceAnalyze: mods },
          action: { description: 'Collect planner statistics now.', sql: [`ANALYZE ${r.table_name};`] },
        });
      } else if (mods > analyzeTrigger && live > 0) {
        needAnalyze++;
        findings.push({
          id: 'analyze-overdue',
          severity: 'low',
          title: `${r.table_name} changed ${mods} rows since its last analyse (trigger ${analyzeTrigger})`,
          subject: r.table_name,
          evidence: {
            table: r.table_name,
            modificationsSinceAnalyze: mods,
            autoanalyzeTrigger: analyzeTrigger,
            lastAutoanalyze: r.last_autoanalyze,
          },
          action: { description: 'Refresh planner statistics.', sql: [`ANALYZE ${r.table_name};`] },
        });
      }
    }

    const xid = (await ctx.db.query<{ xid_age: number; freeze_max_age: number; size_bytes: string }>(XID_SQL)).rows[0];
    const xidRatio = xid.xid_age / XID_LIMIT;
    const xidSeverity =
      severityAtLeast(xidRatio, [
        [t.xidHighRatio, 'high'],
        [t.xidMediumRatio, 'medium'],
      ] as const) ?? (xid.xid_age > 1.5 * xid.freeze_max_age ? ('low' as const) : undefined);
    if (xidSeverity) {
      const oldest = await ctx.db.query<{ table_name: string; xid_age: number }>(OLDEST_TABLES_SQL);
      findings.push({
        id: 'xid-wraparound',
        severity: xidSeverity,
        title: `Transaction IDs are ${Math.round(xidRatio * 100)} % of the way to wraparound`,
        evidence: {
          databaseXidAge: xid.xid_age,
          xidWraparoundRatio: Math.round(xidRatio * 10_000) / 10_000,
          autovacuumFreezeMaxAge: xid.freeze_max_age,
          oldestTables: oldest.rows.map((o) => ({ table: o.table_name, xidAge: o.xid_age })),
        },
        action: {
          description:
            'Vacuum the oldest tables (FREEZE); look for what holds the xmin horizon back: long transactions, idle-in-transaction sessions, stale replication slots or prepared transactions.',
          sql: [
            ...oldest.rows.slice(0, 3).map((o) => `VACUUM (FREEZE, VERBOSE) ${o.table_name};`),
            'SELECT slot_name, age(xmin) FROM pg_replication_slots ORDER BY 2 DESC NULLS LAST;',
          ],
        },
      });
    }
    return {
      findings,
      metrics: {
        tablesNeedingVacuum: needVacuum,
        tablesNeedingAnalyze: needAnalyze,
        xidWraparoundRatio: Math.round(xidRatio * 10_000) / 10_000,
        databaseSizeBytes: Number(xid.size_bytes),
      },
    };
  },
};
