/**
 * The CloudWatch metrics one advisor run publishes (via Powertools Metrics, as EMF log lines).
 * Pure: the handler adds these to its Metrics instance. Names are stable: alarms and the
 * dashboard refer to them. Ratios are published as percentages (0–100).
 */
import type { AdvisorMetrics, AdvisorReport } from './types';

export type AdvisorMetricUnit = 'Count' | 'Percent' | 'Bytes';

export interface AdvisorMetric {
  readonly name: string;
  readonly unit: AdvisorMetricUnit;
  readonly value: number;
}

/** Metric name, unit and the report figure it comes from; `percent` scales a 0..1 ratio. */
const FIGURES: readonly [string, AdvisorMetricUnit, keyof AdvisorMetrics, boolean][] = [
  ['CacheHitRatio', 'Percent', 'cacheHitRatio', true],
  ['ConnectionUsage', 'Percent', 'connectionUsageRatio', true],
  ['Connections', 'Count', 'connections', false],
  ['LongRunningQueries', 'Count', 'longRunningQueries', false],
  ['IdleInTransactionSessions', 'Count', 'idleInTransactionSessions', false],
  ['MaxDeadTupleRatio', 'Percent', 'maxDeadTupleRatio', true],
  ['EstimatedBloat', 'Bytes', 'estimatedBloatBytes', false],
  ['UnusedIndexes', 'Count', 'unusedIndexes', false],
  ['UnusedIndexSize', 'Bytes', 'unusedIndexBytes', false],
  ['DuplicateIndexes', 'Count', 'duplicateIndexes', false],
  ['SeqScanHeavyTables', 'Count', 'seqScanHeavyTables', false],
  ['TablesNeedingVacuum', 'Count', 'tablesNeedingVacuum', false],
  ['TablesNeedingAnalyze', 'Count', 'tablesNeedingAnalyze', false],
  ['MaxSequenceUsage', 'Percent', 'maxSequenceUsageRatio', true],
  ['XidWraparound', 'Percent', 'xidWraparoundRatio', true],
  ['DatabaseSize', 'Bytes', 'databaseSizeBytes', false],
  ['InvalidIndexes', 'Count', 'invalidIndexes', false],
  ['InactiveReplicationSlots', 'Count', 'inactiveReplicationSlots', false],
  ['ReplicationSlotRetainedWal', 'Bytes', 'replicationSlotRetainedWalBytes', false],
  ['ForeignKeysWithoutIndex', 'Count', 'foreignKeysWithoutIndex', false],
  ['BlockedSessions', 'Count', 'blockedSessions', false],
  ['TempFileBytes', 'Bytes', 'tempFileBytes', false],
  ['CheckpointsRequested', 'Percent', 'checkpointsRequestedRatio', true],
  ['StatementDeallocations', 'Count', 'statementDeallocations', false],
];

export function reportMetrics(report: AdvisorReport): AdvisorMetric[] {
  const out: AdvisorMetric[] = [
    { name: 'FindingsHigh', unit: 'Count', value: report.summary.high },
    { name: 'FindingsMedium', unit: 'Count', value: report.summary.medium },
    { name: 'FindingsLow', unit: 'Count', value: report.summary.low },
    { name: 'FindingsInfo', unit: 'Count', value: report.summary.info },
  ];
  for (const [name, unit, key, percent] of FIGURES) {
    const v = report.metrics[key];
    if (v === undefined) continue;
    out.push({ name, unit, value: percent ? Math.round(v * 10_000) / 100 : v });
  }
  return out;
}
