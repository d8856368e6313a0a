/**
 * The pieces of the monthly restore drill that restore/verify do not already provide: sweep
 * leftovers of earlier drills, pick the newest available managed snapshot, delete the drill
 * instance and its RDS log groups afterwards (behind a guard), record the outcome, and report how
 * long ago a drill last succeeded.
 */
import {
  type CloudWatchLogsClient,
  DeleteLogGroupCommand,
  paginateDescribeLogGroups,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  type DBInstance,
  type DBSnapshot,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  paginateDescribeDBInstances,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { DescribeStateMachineCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { ErrorNames } from '../../contracts/errors';
import { ConfigError, CrmError, NotFoundError } from '../shared/errors';
import type { MetricSink } from '../shared/metrics';
import { isAwsError, listSnapshots } from '../snapshot/rds';
import { DRILL_TAG_VALUE, isManaged, TAG_DRILL, tagMap } from '../snapshot/tags';

/** The drill cleanup refused to delete an instance. Nothing was deleted. */
export class DrillGuardError extends CrmError {
  constructor(message: string) {
    super('DRILL_GUARD', message);
    this.name = ErrorNames.DrillGuard;
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

export interface DrillClients {
  readonly rds: RDSClient;
  readonly logs: CloudWatchLogsClient;
}

export interface DeleteResult {
  readonly targetInstanceId: string;
  readonly outcome: 'deleting' | 'already-deleted';
  /**
   * The instance's RDS log groups that were deleted (those that did not exist are left out). Only
   * once the instance is gone: while it is still being deleted RDS may write to them again and
   * would re-create them unencrypted and kept forever, so the next sweep removes them instead.
   */
  readonly logGroupsDeleted: readonly string[];
}

/** RDS log types whose groups a drill instance may have, and the only ones a drill may delete. */
const DRILL_LOG_TYPES = ['postgresql', 'upgrade'] as const;

/** Log groups RDS for PostgreSQL creates for an instance that exports its logs. */
export function rdsLogGroupNames(instanceId: string): string[] {
  return DRILL_LOG_TYPES.map((log) => `/aws/rds/instance/${instanceId}/${log}`);
}

/**
 * Deletes the drill instance's RDS log groups, so drills do not pile up log groups that RDS
 * creates at run time and keeps forever. A group that does not exist (never exported, or already
 * deleted) is not an error.
 */
async function deleteLogGroups(logs: CloudWatchLogsClient, names: readonly string[]): Promise<string[]> {
  const deleted: string[] = [];
  for (const logGroupName of names) {
    try {
      await logs.send(new DeleteLogGroupCommand({ logGroupName }));
      deleted.push(logGroupName);
    } catch (err) {
      if (!isAwsError(err, 'ResourceNotFoundException')) throw err;
    }
  }
  return deleted;
}

/** The guard's first half: the id itself names a drill instance (not the live one). */
function assertDrillInstanceId(c: DrillConfig, targetInstanceId: string): string {
  validateDrillConfig(c);
  const id = targetInstanceId.trim().toLowerCase();
  if (!id.startsWith(`${c.drillPrefix.toLowerCase()}-`)) {
    throw new DrillGuardError(`refusing to delete ${targetInstanceId}: drill instances are named ${c.drillPrefix}-*`);
  }
  if (id === c.liveInstanceId.toLowerCase()) {
    throw new DrillGuardError(`refusing to delete ${targetInstanceId}: it is the live instance`);
  }
  return id;
}

/** The guard's second half: why this instance must not be deleted, or undefined when it may be. */
function refusalReason(instance: DBInstance): string | undefined {
  if (tagMap(instance.TagList)[TAG_DRILL] !== DRILL_TAG_VALUE)
    return `it has no ${TAG_DRILL}=${DRILL_TAG_VALUE} tag, so it is not a drill instance`;
  if (instance.DeletionProtection) return 'deletion protection is on, so someone meant to keep it';
  return undefined;
}

/**
 * Deletes a drill instance and its RDS log groups, and nothing else: the id must start with
 * `<drillPrefix>-`, must not be the live instance, and the instance must carry `drill=true` and
 * have deletion protection off (drill restores turn it off; we never turn it off here). Anything
 * else is refused with a DrillGuardError before any mutating call.
 */
export async function deleteDrillInstance(
  clients: DrillClients,
  c: DrillConfig,
  targetInstanceId: string,
): Promise<DeleteResult> {
  const id = assertDrillInstanceId(c, targetInstanceId);
  let instance: DBInstance | undefined;
  try {
    instance = (await clients.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
  } catch (err) {
    if (!isAwsError(err, 'DBInstanceNotFoundFault', 'DBInstanceNotFound')) throw err;
  }
  const done = async (outcome: DeleteResult['outcome']): Promise<DeleteResult> => ({
    targetInstanceId: id,
    outcome,
    logGroupsDeleted: outcome === 'already-deleted' ? await deleteLogGroups(clients.logs, rdsLogGroupNames(id)) : [],
  });
  if (!instance) return done('already-deleted');
  const refusal = refusalReason(instance);
  if (refusal) throw new DrillGuardError(`refusing to delete ${id}: ${refusal}`);
  if (instance.DBInstanceStatus === 'deleting') return done('deleting');
  try {
    await clients.rds.send(
      new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }),
    );
  } catch (err) {
    if (isAwsError(err, 'DBInstanceNotFoundFault', 'DBInstanceNotFound')) return done('already-deleted');
    throw err;
  }
  return done('deleting');
}

export interface SweepResult {
  /** Leftover drill instances deleted (or already being deleted). */
  readonly deleted: readonly DeleteResult[];
  /** Drill-named instances left alone, and why. */
  readonly skipped: readonly { readonly instanceId: string; readonly reason: string }[];
  /** RDS log groups of drill instances that no longer exist, deleted. */
  readonly logGroupsDeleted: readonly string[];
}

/**
 * Deletes what earlier drills left behind (a drill that timed out, or whose clean-up failed): every
 * instance named `<drillPrefix>-*` AND tagged drill=true, with deletion protection off, created at
 * least `minAgeMinutes` ago — the drill workflow's timeout, so a drill still running keeps its
 * instance. Nothing else is ever touched: the live instance, operator restores and untagged
 * lookalikes are listed in `skipped` at most.
 */
export async function sweepDrillLeftovers(
  clients: DrillClients,
  c: DrillConfig,
  opts: { readonly minAgeMinutes: number; readonly now: Date },
): Promise<SweepResult> {
  validateDrillConfig(c);
  const prefix = `${c.drillPrefix.toLowerCase()}-`;
  const cutoff = opts.now.getTime() - opts.minAgeMinutes * 60_000;
  const deleted: DeleteResult[] = [];
  const skipped: { instanceId: string; reason: string }[] = [];
  const existing = new Set<string>();
  for await (const page of paginateDescribeDBInstances({ client: clients.rds, pageSize: 100 }, {})) {
    for (const instance of page.DBInstances ?? []) {
      const instanceId = instance.DBInstanceIdentifier ?? '';
      if (!instanceId.toLowerCase().startsWith(prefix)) continue;
      existing.add(instanceId.toLowerCase());
      const created = instance.InstanceCreateTime;
      const reason =
        refusalReason(instance) ??
        (created instanceof Date && created.getTime() <= cutoff
          ? undefined
          : `created less than ${opts.minAgeMinutes} minutes ago (or still creating): a drill may still be using it`);
      if (reason) {
        skipped.push({ instanceId, reason });
        continue;
      }
      deleted.push(await deleteDrillInstance(clients, c, instanceId));
    }
  }
  return { deleted, skipped, logGroupsDeleted: await deleteOrphanedDrillLogGroups(clients.logs, prefix, existing) };
}

/**
 * Deletes `/aws/rds/instance/<drillPrefix>-<id>/{postgresql,upgrade}` log groups whose instance no
 * longer exists (RDS re-creates a group it still writes to while the instance is deleting). A group
 * of an instance that still exists, of another log type, or of any other name is left alone.
 */
async function deleteOrphanedDrillLogGroups(
  logs: CloudWatchLogsClient,
  instancePrefix: string,
  existingInstances: ReadonlySet<string>,
): Promise<string[]> {
  const groupPrefix = `/aws/rds/instance/${instancePrefix}`;
  const orphans: string[] = [];
  for await (const page of paginateDescribeLogGroups({ client: logs }, { logGroupNamePrefix: groupPrefix })) {
    for (const { logGroupName } of page.logGroups ?? []) {
      const match = logGroupName?.match(/^\/aws\/rds\/instance\/([^/]+)\/([^/]+)$/);
      if (!match || !match[1]!.startsWith(instancePrefix)) continue;
      if (!(DRILL_LOG_TYPES as readonly string[]).includes(match[2]!)) continue;
      if (existingInstances.has(match[1]!)) continue;
      orphans.push(logGroupName!);
    }
  }
  return deleteLogGroups(logs, orphans);
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
