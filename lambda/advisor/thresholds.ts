/**
 * Every threshold the advisor uses, in one place, with its default and the severity rule it
 * drives. docs/advisor.md repeats these rules for operators. Override any of them with
 * `runAdvisor(db, { thresholds: { ... } })`; unspecified ones keep their defaults.
 *
 * Ratios are fractions (0.9 = 90 %), sizes bytes, durations seconds unless named `Ms`.
 */
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface Thresholds {
  readonly statements: {
    /** Rows in each top-N table (by total time, by mean time). @default 10 */
    readonly topN: number;
    /** Statements with fewer calls are left out of the by-mean ranking (one-off admin queries). @default 5 */
    readonly minCallsForMean: number;
    /** `slow-statement` medium when mean ≥ this and calls ≥ minCallsForMean. @default 500 */
    readonly slowMeanMs: number;
    /** `slow-statement` high when mean ≥ this. @default 5000 */
    readonly verySlowMeanMs: number;
    /** Characters of normalised statement text kept in a report (the WHERE clause is kept first). @default 200 */
    readonly textLength: number;
    /** `intermittent-slow-statement` low when one call took at least this (mean below slowMeanMs)… @default 1000 */
    readonly intermittentMaxMs: number;
    /** …and the slowest call is at least this multiple of the mean, or stddev ≥ mean. @default 10 */
    readonly intermittentMaxToMean: number;
  };
  readonly unusedIndexes: {
    /** Unused indexes smaller than this are `info` (too small to matter yet). @default 1 MiB */
    readonly minBytes: number;
    /** …and `medium` from this size on (`low` in between). @default 100 MiB */
    readonly mediumBytes: number;
    /**
     * Statistics younger than this (since pg_stat_database.stats_reset, or since the server
     * started when never reset) cannot tell an unused index: the finding waits. @default 7
     */
    readonly minStatsAgeDays: number;
  };
  readonly seqScans: {
    /** Only tables with at least this many live rows are considered. @default 10 000 */
    readonly minLiveRows: number;
    /** …that were sequentially scanned at least this often… @default 5 */
    readonly minSeqScans: number;
    /** …with sequential scans making up at least this share of all scans. @default 0.5 */
    readonly minSeqShare: number;
    /** `low`; `medium` once seq_tup_read reaches this. @default 100 000 000 */
    readonly mediumTupRead: number;
  };
  readonly deadTuples: {
    /** Tables with fewer live+dead rows are ignored (their ratio is noise). @default 1 000 */
    readonly minTableRows: number;
    /** …and fewer dead tuples than this too. @default 1 000 */
    readonly minDeadTuples: number;
    /** `low` from this dead/(live+dead) ratio… @default 0.1 */
    readonly lowRatio: number;
    /** …`medium` from this… @default 0.2 */
    readonly mediumRatio: number;
    /** …`high` from this ratio when the table is also at least `highMinBytes`. @default 0.5 */
    readonly highRatio: number;
    /** @default 1 GiB */
    readonly highMinBytes: number;
  };
  readonly vacuum: {
    /** `vacuum-overdue` becomes `medium` when dead tuples exceed this multiple of the autovacuum trigger. @default 10 */
    readonly mediumOverdueFactor: number;
    /** Never-analysed tables with at least this many live rows are `medium`. @default 1 000 */
    readonly neverAnalyzedMinRows: number;
    /** `xid-wraparound` medium from age(datfrozenxid)/2^31 ≥ this… @default 0.5 */
    readonly xidMediumRatio: number;
    /** …high from this. @default 0.75 */
    readonly xidHighRatio: number;
  };
  readonly cache: {
    /** Below this many block accesses the ratio is reported as `info` only. @default 100 000 */
    readonly minBlockAccesses: number;
    /** `low` below this hit ratio… @default 0.99 */
    readonly lowRatio: number;
    /** …`medium` below this… @default 0.95 */
    readonly mediumRatio: number;
    /** …`high` below this. @default 0.9 */
    readonly highRatio: number;
  };
  readonly sessions: {
    /** Active statements running longer than this are `medium`… @default 300 */
    readonly longRunningSeconds: number;
    /** …and `high` from this. @default 1800 */
    readonly veryLongRunningSeconds: number;
    /** Sessions idle in a transaction longer than this are `medium`… @default 60 */
    readonly idleInTransactionSeconds: number;
    /** …and `high` from this (they hold locks and stop vacuum). @default 600 */
    readonly veryIdleInTransactionSeconds: number;
    /** Characters of normalised statement prefix shown per session (never literals). @default 60 */
    readonly statementPrefixLength: number;
    /** `blocked-sessions` medium when a session has waited this long for another's lock… @default 10 */
    readonly blockedSeconds: number;
    /** …and `high` from this. @default 120 */
    readonly veryBlockedSeconds: number;
  };
  readonly replicationSlots: {
    /** An inactive slot is `medium` once it retains this much WAL (`low` below)… @default 1 GiB */
    readonly mediumRetainedBytes: number;
    /** …and `high` from this. @default 10 GiB */
    readonly highRetainedBytes: number;
  };
  readonly foreignKeys: {
    /** Referencing tables with fewer rows (pg_class.reltuples) are listed as info only. @default 10 000 */
    readonly minRows: number;
  };
  readonly tempFiles: {
    /** `temp-file-spills` low from this many bytes written to temporary files since the reset… @default 1 GiB */
    readonly lowBytes: number;
    /** …`medium` from this. @default 100 GiB */
    readonly mediumBytes: number;
  };
  readonly checkpoints: {
    /** Fewer checkpoints since the reset are not judged. @default 10 */
    readonly minCheckpoints: number;
    /** `checkpoints-requested` low when requested checkpoints are at least this share… @default 0.3 */
    readonly lowRequestedShare: number;
    /** …`medium` from this. @default 0.6 */
    readonly mediumRequestedShare: number;
  };
  readonly connections: {
    /** `low` from this share of usable connection slots… @default 0.6 */
    readonly lowRatio: number;
    /** …`medium` from this… @default 0.75 */
    readonly mediumRatio: number;
    /** …`high` from this. @default 0.9 */
    readonly highRatio: number;
  };
  readonly sequences: {
    /** `low` from this used fraction of a sequence or integer key… @default 0.5 */
    readonly lowRatio: number;
    /** …`medium` from this… @default 0.75 */
    readonly mediumRatio: number;
    /** …`high` from this. @default 0.9 */
    readonly highRatio: number;
  };
  readonly parameters: {
    /** A memory parameter within this factor of the recommendation (either way) is fine… @default 1.5 */
    readonly lowFactor: number;
    /** …`medium` when off by this factor or more (`low` in between). @default 3 */
    readonly mediumFactor: number;
  };
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  statements: {
    topN: 10,
    minCallsForMean: 5,
    slowMeanMs: 500,
    verySlowMeanMs: 5000,
    textLength: 200,
    intermittentMaxMs: 1000,
    intermittentMaxToMean: 10,
  },
  unusedIndexes: { minBytes: 1 * MiB, mediumBytes: 100 * MiB, minStatsAgeDays: 7 },
  seqScans: { minLiveRows: 10_000, minSeqScans: 5, minSeqShare: 0.5, mediumTupRead: 100_000_000 },
  deadTuples: {
    minTableRows: 1_000,
    minDeadTuples: 1_000,
    lowRatio: 0.1,
    mediumRatio: 0.2,
    highRatio: 0.5,
    highMinBytes: 1 * GiB,
  },
  vacuum: { mediumOverdueFactor: 10, neverAnalyzedMinRows: 1_000, xidMediumRatio: 0.5, xidHighRatio: 0.75 },
  cache: { minBlockAccesses: 100_000, lowRatio: 0.99, mediumRatio: 0.95, highRatio: 0.9 },
  sessions: {
    longRunningSeconds: 300,
    veryLongRunningSeconds: 1800,
    idleInTransactionSeconds: 60,
    veryIdleInTransactionSeconds: 600,
    statementPrefixLength: 60,
    blockedSeconds: 10,
    veryBlockedSeconds: 120,
  },
  replicationSlots: { mediumRetainedBytes: 1 * GiB, highRetainedBytes: 10 * GiB },
  foreignKeys: { minRows: 10_000 },
  tempFiles: { lowBytes: 1 * GiB, mediumBytes: 100 * GiB },
  checkpoints: { minCheckpoints: 10, lowRequestedShare: 0.3, mediumRequestedShare: 0.6 },
  connections: { lowRatio: 0.6, mediumRatio: 0.75, highRatio: 0.9 },
  sequences: { lowRatio: 0.5, mediumRatio: 0.75, highRatio: 0.9 },
  parameters: { lowFactor: 1.5, mediumFactor: 3 },
};

/** Deep-partial overrides, one level of groups deep (every threshold group is flat). */
export type ThresholdOverrides = { readonly [G in keyof Thresholds]?: Partial<Thresholds[G]> };

export function resolveThresholds(overrides: ThresholdOverrides = {}): Thresholds {
  const out: Record<string, unknown> = {};
  for (const group of Object.keys(DEFAULT_THRESHOLDS) as (keyof Thresholds)[]) {
    out[group] = { ...DEFAULT_THRESHOLDS[group], ...(overrides[group] ?? {}) };
  }
  return out as unknown as Thresholds;
}

/** The severity for a value that is worse the higher it is; undefined when below every step. */
export function severityAtLeast<S extends string>(
  value: number,
  steps: readonly (readonly [number, S])[],
): S | undefined {
  // steps are ordered worst first: [[0.9, 'high'], [0.75, 'medium'], [0.5, 'low']]
  for (const [limit, severity] of steps) if (value >= limit) return severity;
  return undefined;
}
