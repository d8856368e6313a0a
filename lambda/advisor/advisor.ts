/**
 * The advisor's pure core: runs every check on one database session and assembles the report.
 * No AWS, no environment: the Lambda handler and `npm run advisor` both call `runAdvisor`.
 * Read-only: every statement is a SELECT on statistics views and settings.
 */
import { errorMessage } from '../shared/errors';
import { blockedSessions } from './checks/blocked-sessions';
import { cacheHit } from './checks/cache-hit';
import { checkpoints } from './checks/checkpoints';
import { connections } from './checks/connections';
import { deadTuples } from './checks/dead-tuples';
import { duplicateIndexes } from './checks/duplicate-indexes';
import { foreignKeyIndexes } from './checks/foreign-key-indexes';
import { invalidIndexes } from './checks/invalid-indexes';
import { notValidConstraints } from './checks/not-valid-constraints';
import { parameters } from './checks/parameters';
import { replicationSlots } from './checks/replication-slots';
import { seqScans } from './checks/seq-scans';
import { sequences } from './checks/sequences';
import { sessions } from './checks/sessions';
import { tempFiles } from './checks/temp-files';
import { topStatements } from './checks/top-statements';
import { unusedIndexes } from './checks/unused-indexes';
import { vacuumAnalyze } from './checks/vacuum-analyze';
import { groupRelatedFindings } from './group-findings';
import { instanceClassMemoryGiB } from './instance-classes';
import { ADVISOR_SQL_MARKER } from './sql-marker';
import { resolveThresholds, type ThresholdOverrides } from './thresholds';
import {
  type AdvisorMetrics,
  type AdvisorReport,
  type Check,
  type CheckContext,
  type Finding,
  type PgStatStatementsStatus,
  type Queryable,
  SEVERITIES,
  type Severity,
} from './types';

/** Every check, in report order within a severity. */
export const ALL_CHECKS: readonly Check[] = [
  sessions,
  blockedSessions,
  connections,
  replicationSlots,
  sequences,
  vacuumAnalyze,
  deadTuples,
  invalidIndexes,
  notValidConstraints,
  cacheHit,
  topStatements,
  tempFiles,
  seqScans,
  foreignKeyIndexes,
  unusedIndexes,
  duplicateIndexes,
  checkpoints,
  parameters,
];

export interface AdvisorOptions {
  /** RDS instance class, e.g. `db.r7g.large`; its memory is derived unless `memoryGiB` is given. */
  readonly instanceClass?: string;
  /** Instance memory in GiB. Unknown (local): parameter advice is `info` only. */
  readonly memoryGiB?: number;
  readonly thresholds?: ThresholdOverrides;
  /** @default ALL_CHECKS */
  readonly checks?: readonly Check[];
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Told about a check that failed (its failure also becomes an `advisor-check-failed` finding). */
  readonly onCheckError?: (check: string, err: unknown) => void;
}

const SERVER_SQL = `
  SELECT current_database() AS database, current_setting('server_version') AS server_version,
         to_char((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()) AT TIME ZONE 'UTC',
                 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS stats_since,
         EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS pgss_installed,
         EXTRACT(EPOCH FROM clock_timestamp() - COALESCE(
           (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
           pg_postmaster_start_time()))::float8 AS statistics_age_seconds`;

async function pgStatStatementsStatus(db: Queryable, installed: boolean): Promise<PgStatStatementsStatus> {
  if (!installed) return 'not-installed';
  try {
    await db.query('SELECT 1 FROM pg_stat_statements LIMIT 1');
    return 'available';
  } catch {
    // "pg_stat_statements must be loaded via shared_preload_libraries": reported as a finding, not an error
    return 'not-preloaded';
  }
}

/** The session with every statement marked, so the statement checks can leave them out. */
function marked(db: Queryable): Queryable {
  const query = (text: string, values?: unknown[]) => db.query(`${text}\n${ADVISOR_SQL_MARKER}`, values);
  // pg's query() is a set of overloads; the checks only use (text, values)
  return { query: query as unknown as Queryable['query'] };
}

export async function runAdvisor(session: Queryable, options: AdvisorOptions = {}): Promise<AdvisorReport> {
  const db = marked(session);
  const now = options.now ?? (() => new Date());
  const generatedAt = now().toISOString();
  const thresholds = resolveThresholds(options.thresholds);
  const server = (
    await db.query<{
      database: string;
      server_version: string;
      stats_since: string | null;
      pgss_installed: boolean;
      statistics_age_seconds: number;
    }>(SERVER_SQL)
  ).rows[0];
  const pgss = await pgStatStatementsStatus(db, server.pgss_installed);
  const memoryGiB =
    options.memoryGiB ?? (options.instanceClass ? instanceClassMemoryGiB(options.instanceClass) : undefined);
  const ctx: CheckContext = {
    db,
    thresholds,
    pgStatStatements: pgss,
    hasPgStatStatements: pgss === 'available',
    memoryBytes: memoryGiB === undefined ? undefined : memoryGiB * 1024 ** 3,
    instanceClass: options.instanceClass,
    statisticsAgeSeconds: server.statistics_age_seconds,
  };

  const findings: Finding[] = [];
  let metrics: AdvisorMetrics = { statisticsAgeSeconds: Math.round(server.statistics_age_seconds) };
  for (const check of options.checks ?? ALL_CHECKS) {
    try {
      const result = await check.run(ctx);
      findings.push(...result.findings);
      metrics = { ...metrics, ...result.metrics };
    } catch (err) {
      options.onCheckError?.(check.name, err);
      const code = (err as { code?: unknown }).code;
      findings.push({
        id: 'advisor-check-failed',
        severity: 'low',
        title: `Check ${check.name} failed: ${errorMessage(err)}`,
        subject: check.name,
        evidence: { check: check.name, error: errorMessage(err), sqlState: typeof code === 'string' ? code : null },
        action: {
          description:
            code === '42501'
              ? 'The advisor role lacks a privilege: it needs pg_monitor (granted to crm_monitor by the migrations).'
              : 'The rest of the report is complete; look at the error and re-run.',
          ...(code === '42501' ? { sql: ['GRANT pg_monitor TO crm_monitor;'] } : {}),
        },
      });
    }
  }

  const rank = (s: Severity) => SEVERITIES.indexOf(s);
  const sorted = groupRelatedFindings(findings)
    .map((f, i) => ({ f, i }))
    .sort((a, b) => rank(a.f.severity) - rank(b.f.severity) || a.i - b.i)
    .map(({ f }) => f);
  const summary = { high: 0, medium: 0, low: 0, info: 0 } satisfies Record<Severity, number>;
  for (const f of sorted) summary[f.severity]++;

  return {
    schemaVersion: 1,
    generatedAt,
    database: server.database,
    serverVersion: server.server_version,
    instance: {
      ...(options.instanceClass ? { instanceClass: options.instanceClass } : {}),
      ...(memoryGiB !== undefined ? { memoryGiB } : {}),
    },
    statsSince: server.stats_since,
    summary,
    metrics,
    findings: sorted,
    thresholds,
  };
}
