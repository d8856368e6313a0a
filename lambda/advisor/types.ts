/**
 * The advisor's report model. The JSON report written to S3 and printed by
 * `npm run advisor -- --json` is exactly `AdvisorReport`; `schemaVersion` changes when a field
 * is removed or changes meaning (adding fields does not bump it).
 */
import type { ClientBase } from 'pg';
import type { Thresholds } from './thresholds';

export type Severity = 'high' | 'medium' | 'low' | 'info';

export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low', 'info'];

/** A scalar piece of evidence. Keys ending in `Bytes`, `Ratio`, `Ms` or `Seconds` are formatted by unit. */
export type EvidenceScalar = string | number | boolean | null;
/** One row of an evidence table (e.g. one statement, one index). */
export type EvidenceRow = Readonly<Record<string, EvidenceScalar>>;
/** Structured evidence: scalars, and tables as arrays of rows. */
export type Evidence = Readonly<Record<string, EvidenceScalar | readonly EvidenceRow[]>>;

/** What to do about a finding: SQL to run, a config field to change, or both. */
export interface FindingAction {
  /** One or two sentences for an operator. */
  readonly description: string;
  /** Statements to run (as the owner role unless the description says otherwise), in order. */
  readonly sql?: readonly string[];
  /** The deployment-config field to change (lib/config), and the value to set it to. */
  readonly config?: { readonly field: string; readonly value: string | number };
  /** Another way to the same end, when the direct one is too disruptive (e.g. an online table change). */
  readonly alternative?: { readonly description: string; readonly sql: readonly string[] };
}

export interface Finding {
  /** Stable rule id, e.g. `unused-index`; docs/advisor.md lists every id. */
  readonly id: string;
  readonly severity: Severity;
  readonly title: string;
  /** The object the finding is about (`schema.table`, `schema.index`, `pid 123`, a parameter name), when there is one. */
  readonly subject?: string;
  readonly evidence: Evidence;
  readonly action: FindingAction;
}

/** Key figures of one run; also published as CloudWatch metrics by the Lambda. Absent when not measurable. */
export interface AdvisorMetrics {
  /** Shared-buffer hit ratio of this database (0..1) since stats reset. */
  cacheHitRatio?: number;
  /** Client connections to the whole instance (max_connections is instance-wide). */
  connections?: number;
  maxConnections?: number;
  /** connections / (max_connections − reserved slots), 0..1. */
  connectionUsageRatio?: number;
  longRunningQueries?: number;
  idleInTransactionSessions?: number;
  /** Highest dead/(live+dead) ratio among tables with at least `deadTuples.minTableRows` rows. */
  maxDeadTupleRatio?: number;
  deadTuples?: number;
  /** Sum of the dead-tuple-ratio bloat estimate over all tables. */
  estimatedBloatBytes?: number;
  unusedIndexes?: number;
  unusedIndexBytes?: number;
  duplicateIndexes?: number;
  seqScanHeavyTables?: number;
  tablesNeedingVacuum?: number;
  tablesNeedingAnalyze?: number;
  /** Highest used fraction of any sequence or integer key, 0..1. */
  maxSequenceUsageRatio?: number;
  /** age(datfrozenxid) / 2^31: how close this database is to transaction-ID wraparound, 0..1. */
  xidWraparoundRatio?: number;
  databaseSizeBytes?: number;
  /** Statements tracked by pg_stat_statements for this database. */
  statementsTracked?: number;
  /** pg_stat_statements_info.dealloc: times entries were evicted since its reset (instance-wide). */
  statementDeallocations?: number;
  invalidIndexes?: number;
  inactiveReplicationSlots?: number;
  /** WAL retained by inactive replication slots, summed. */
  replicationSlotRetainedWalBytes?: number;
  foreignKeysWithoutIndex?: number;
  /** Sessions of this database waiting for a lock held by another session. */
  blockedSessions?: number;
  /** pg_stat_database.temp_bytes of this database since the statistics reset. */
  tempFileBytes?: number;
  /** Share of checkpoints requested rather than timed (instance-wide), 0..1. */
  checkpointsRequestedRatio?: number;
  /** Age of this database's statistics (since stats_reset, or since the server started). */
  statisticsAgeSeconds?: number;
}

export interface AdvisorReport {
  readonly schemaVersion: 1;
  /** ISO-8601 timestamp of the run. */
  readonly generatedAt: string;
  readonly database: string;
  readonly serverVersion: string;
  readonly instance: { readonly instanceClass?: string; readonly memoryGiB?: number };
  /** When this database's statistics were last reset (null: never since the cluster was created). */
  readonly statsSince: string | null;
  readonly summary: Readonly<Record<Severity, number>>;
  readonly metrics: AdvisorMetrics;
  /** Ordered by severity (high first), then in check order. */
  readonly findings: readonly Finding[];
  readonly thresholds: Thresholds;
}

/**
 * One database session: a pg `Client` or `PoolClient`. A single session (not a Pool) so the
 * advisor can exclude itself from pg_stat_activity.
 */
export type Queryable = Pick<ClientBase, 'query'>;

export type PgStatStatementsStatus = 'available' | 'not-installed' | 'not-preloaded';

/** What every check receives. */
export interface CheckContext {
  readonly db: Queryable;
  readonly thresholds: Thresholds;
  /** Whether pg_stat_statements can be read in this database, and if not, why. */
  readonly pgStatStatements: PgStatStatementsStatus;
  /** Shorthand for `pgStatStatements === 'available'`. */
  readonly hasPgStatStatements: boolean;
  readonly memoryBytes?: number;
  readonly instanceClass?: string;
  /**
   * Seconds the statistics counters have been collecting: since pg_stat_database.stats_reset,
   * or since the server started when the database's were never reset (a crash or failover
   * discards them). A lower bound: counters also survive clean restarts.
   */
  readonly statisticsAgeSeconds: number;
}

export interface CheckResult {
  readonly findings: Finding[];
  readonly metrics?: AdvisorMetrics;
}

/** One check per file under checks/: its own SQL, its own rule ids. */
export interface Check {
  /** Short id used in logs and in the `advisor-check-failed` finding. */
  readonly name: string;
  run(ctx: CheckContext): Promise<CheckResult>;
}
