/**
 * The pieces of the monthly restore drill that restore/verify do not already provide: pick the
 * newest available managed snapshot, delete the drill instance afterwards (behind a guard),
 * record the outcome, and report how long ago a drill last succeeded.
 */
import {
  type DBInstance,
  type DBSnapshot,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { DescribeStateMachineCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { ConfigError, CrmError, NotFoundError } from '../shared/errors';
import type { MetricSink } from '../shared/metrics';
import { isAwsError, listSnapshots } from '../snapshot/rds';
import { DRILL_TAG_VALUE, isManaged, TAG_DRILL, tagMap } from '../snapshot/tags';

/** The drill cleanup refused to delete an instance. Nothing was deleted. */
export class DrillGuardError extends CrmError {
  constructor(message: string) {
    super('DRILL_GUARD', message);
  }
}

export interface DrillConfig {
  readonly liveInstanceId: string;
  readonly snapshotPrefix: string;
  /** Drill instances are named `<drillPrefix>-YYYYMMDD-HHMM`. */
  readonly drillPrefix: string;
}

export function validateDrillConfig(c: DrillConfig): void {
  const live = c.liveInstanceId.toLowerCase();
  const prefix = c.drillPrefix.toLowerCase();
  if (live === prefix || live.startsWith(`${prefix}-`)) {
    throw new ConfigError(
      'DRILL_PREFIX',
      `"${c.drillPrefix}" would match the live instance ${c.liveInstanceId}; choose a prefix it does not start with`,
    );
  }
}

export interface PickedSnapshot {
  readonly snapshotId: string;
  readonly snapshotArn?: string;
  readonly snapshotCreateTime: string;
}

/** Newest `available` manual snapshot with the managed-by tag and the project prefix. */
export async function pickNewestSnapshot(rds: RDSClient, c: DrillConfig): Promise<PickedSnapshot> {
  const prefix = `${c.snapshotPrefix.toLowerCase()}-`;
  const eligible = (
    await listSnapshots(rds, { DBInstanceIdentifier: c.liveInstanceId, SnapshotType: 'manual' })
  ).filter(
    (s): s is DBSnapshot & { SnapshotCreateTime: Date; DBSnapshotIdentifier: string } =>
      s.Status === 'available' &&
      isManaged(s.TagList) &&
      !!s.DBSnapshotIdentifier?.startsWith(prefix) &&
      s.SnapshotCreateTime instanceof Date,
  );
  if (eligible.length === 0)
    throw new NotFoundError(`no available managed snapshot of ${c.liveInstanceId} to drill with`);
  const newest = eligible.reduce((a, b) => (b.SnapshotCreateTime > a.SnapshotCreateTime ? b : a));
  return {
    snapshotId: newest.DBSnapshotIdentifier,
    snapshotArn: newest.DBSnapshotArn,
    snapshotCreateTime: newest.SnapshotCreateTime.toISOString(),
  };
}

export interface DeleteResult {
  readonly targetInstanceId: string;
  readonly outcome: 'deleting' | 'already-deleted';
}

/**
 * Deletes a drill instance, and nothing else: the id must start with `<drillPrefix>-`, must not
 * be the live instance, and the instance must carry `drill=true` and have deletion protection
 * off (drill restores turn it off; we never turn it off here). Anything else is refused with a
 * DrillGuardError before any mutating call.
 */
export async function deleteDrillInstance(
  rds: RDSClient,
  c: DrillConfig,
  targetInstanceId: string,
): Promise<DeleteResult> {
  validateDrillConfig(c);
  const id = targetInstanceId.trim().toLowerCase();
  if (!id.startsWith(`${c.drillPrefix.toLowerCase()}-`)) {
    throw new DrillGuardError(`refusing to delete ${targetInstanceId}: drill instances are named ${c.drillPrefix}-*`);
  }
  if (id === c.liveInstanceId.toLowerCase()) {
    throw new DrillGuardError(`refusing to delete ${targetInstanceId}: it is the live instance`);
  }
  let instance: DBInstance | undefined;
  try {
    instance = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
  } catch (err) {
    if (!isAwsError(err, 'DBInstanceNotFoundFault', 'DBInstanceNotFound')) throw err;
  }
  if (!instance) return { targetInstanceId: id, outcome: 'already-deleted' };
  if (tagMap(instance.TagList)[TAG_DRILL] !== DRILL_TAG_VALUE) {
    throw new DrillGuardError(
      `refusing to delete ${id}: it has no ${TAG_DRILL}=${DRILL_TAG_VALUE} tag, so it is not a drill instance`,
    );
  }
  if (instance.DeletionProtection) {
    throw new DrillGuardError(`refusing to delete ${id}: deletion protection is on, so someone meant to keep it`);
  }
  if (instance.DBInstanceStatus === 'deleting') return { targetInstanceId: id, outcome: 'deleting' };
  try {
    await rds.send(
      new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }),
    );
  } catch (err) {
    if (isAwsError(err, 'DBInstanceNotFoundFault', 'DBInstanceNotFound'))
      return { targetInstanceId: id, outcome: 'already-deleted' };
    throw err;
  }
  return { targetInstanceId: id, outcome: 'deleting' };
}

export interface DrillRecord {
  readonly succeeded: boolean;
  readonly durationSeconds?: number;
}

/** DrillSucceeded / DrillFailed (both always emitted, 0 or 1) and DrillDurationSeconds on success. */
export function recordDrill(
  metrics: MetricSink,
  succeeded: boolean,
  restoreStartedAt: string | undefined,
  now: Date,
): DrillRecord {
  metrics.addMetric('DrillSucceeded', 'Count', succeeded ? 1 : 0);
  metrics.addMetric('DrillFailed', 'Count', succeeded ? 0 : 1);
  if (!succeeded || !restoreStartedAt) return { succeeded };
  const durationSeconds = Math.max(0, Math.round((now.getTime() - Date.parse(restoreStartedAt)) / 1000));
  metrics.addMetric('DrillDurationSeconds', 'Seconds', durationSeconds);
  return { succeeded, durationSeconds };
}

export interface Freshness {
  readonly daysSinceLastSuccess: number;
  readonly lastSuccessAt?: string;
}

/**
 * Days since the drill state machine last succeeded (since its creation when it never has), as
 * metric DaysSinceLastDrillSuccess. CloudWatch alarms cannot look back 35 days, so the "no
 * successful drill for 35 days" alarm is a threshold on this daily gauge instead.
 */
export async function drillFreshness(
  sfn: SFNClient,
  metrics: MetricSink,
  stateMachineArn: string,
  now: Date,
): Promise<Freshness> {
  const res = await sfn.send(new ListExecutionsCommand({ stateMachineArn, statusFilter: 'SUCCEEDED', maxResults: 1 }));
  const last = res.executions?.[0]?.stopDate;
  const since = last ?? (await sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).creationDate;
  if (!since) throw new NotFoundError(`state machine ${stateMachineArn} has no creation date`);
  const daysSinceLastSuccess = Math.floor((now.getTime() - since.getTime()) / 86_400_000);
  metrics.addMetric('DaysSinceLastDrillSuccess', 'Count', daysSinceLastSuccess);
  return { daysSinceLastSuccess, ...(last ? { lastSuccessAt: last.toISOString() } : {}) };
}
