/**
 * Core of the operator restore. Everything is read and checked first; only then, and only without
 * `dryRun`, come the two mutating calls: RestoreDBInstance* (a NEW instance) and StartExecution of
 * the verification workflow. The source instance is only ever described.
 */
import {
  type DBInstance,
  type DBSnapshot,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  type RestoreDBInstanceFromDBSnapshotMessage,
  RestoreDBInstanceToPointInTimeCommand,
  type RestoreDBInstanceToPointInTimeMessage,
  type Tag,
} from '@aws-sdk/client-rds';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ConfigError, CrmError, errorMessage, ValidationError } from '../shared/errors';
import { timestampedInstanceId } from '../snapshot/naming';
import { isAwsError } from '../snapshot/rds';
import {
  DRILL_TAG_VALUE,
  TAG_DRILL,
  TAG_MANAGED_BY,
  TAG_REQUESTED_BY,
  TAG_RESTORED_FROM,
  userTags,
} from '../snapshot/tags';
import type { RestoreRequest } from './input';

export interface RestoreConfig {
  /** The live instance whose snapshots / backups are restored and whose settings are copied. */
  readonly liveInstanceId: string;
  /** ARN of the verification state machine; required unless `mode` is `drill`. */
  readonly verifyStateMachineArn?: string;
  /**
   * `operator` restores keep the live instance's deletion protection and start verification.
   * `drill` restores are disposable: named `<drillPrefix>-…`, tagged `drill=true`, deletion
   * protection off, and the drill workflow verifies them itself.
   * @default 'operator'
   */
  readonly mode?: 'operator' | 'drill';
  /** Prefix of drill instance ids (drill mode only). */
  readonly drillPrefix?: string;
}

export interface RestoreDeps {
  readonly rds: RDSClient;
  readonly sfn: SFNClient;
  readonly now: () => Date;
}

export interface RestoreWindow {
  readonly earliest: string;
  readonly latest: string;
}

export type PlannedRestore =
  | {
      readonly api: 'RestoreDBInstanceFromDBSnapshot';
      readonly request: RestoreDBInstanceFromDBSnapshotMessage;
    }
  | {
      readonly api: 'RestoreDBInstanceToPointInTime';
      readonly request: RestoreDBInstanceToPointInTimeMessage;
    };

export interface RestorePlan {
  readonly sourceInstanceId: string;
  readonly source:
    | {
        readonly type: 'snapshot';
        readonly snapshotId: string;
        readonly snapshotArn: string;
        readonly snapshotCreateTime?: string;
        readonly snapshotType?: string;
        readonly engineVersion?: string;
      }
    | { readonly type: 'point-in-time'; readonly restoreTime: string; readonly restorableWindow: RestoreWindow };
  readonly targetInstanceId: string;
  readonly mode: 'operator' | 'drill';
  /**
   * The KMS key the new instance is encrypted with. Neither restore API takes a key: the new
   * instance inherits the snapshot's key, or the live instance's for a point-in-time restore.
   */
  readonly kmsKeyId?: string;
  /** Things an operator should know before running the plan. */
  readonly notes: readonly string[];
  /** The exact RDS call that will be made. */
  readonly restore: PlannedRestore;
  /** The verification workflow that will be started (operator mode). */
  readonly verification?: { readonly stateMachineArn: string; readonly executionName: string };
}

/** What the verification state machine receives (and passes on to the verify function). */
export interface VerificationInput {
  readonly targetInstanceId: string;
  readonly sourceInstanceId: string;
  readonly restoredFrom: string;
  readonly restoreStartedAt: string;
  readonly requestedBy: string;
  readonly drill: boolean;
}

export interface RestoreResult {
  readonly targetInstanceId: string;
  readonly dryRun: boolean;
  readonly executionArn?: string;
  readonly restoreStartedAt?: string;
  readonly verificationInput?: VerificationInput;
  readonly plan: RestorePlan;
}

/** The restore call succeeded but the verification workflow could not be started. */
export class VerificationNotStartedError extends CrmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VERIFICATION_NOT_STARTED', message, options);
  }
}

async function describeInstance(rds: RDSClient, id: string): Promise<DBInstance | undefined> {
  try {
    const res = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return res.DBInstances?.[0];
  } catch (err) {
    if (isAwsError(err, 'DBInstanceNotFoundFault', 'DBInstanceNotFound')) return undefined;
    throw err;
  }
}

async function describeSnapshot(rds: RDSClient, id: string): Promise<DBSnapshot | undefined> {
  try {
    const res = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }));
    return res.DBSnapshots?.[0];
  } catch (err) {
    if (isAwsError(err, 'DBSnapshotNotFoundFault', 'DBSnapshotNotFound')) return undefined;
    throw err;
  }
}

async function restorableWindow(rds: RDSClient, live: DBInstance): Promise<{ earliest: Date; latest: Date }> {
  if (!live.BackupRetentionPeriod) {
    throw new ValidationError(
      'pointInTime',
      `automated backups are disabled on ${live.DBInstanceIdentifier}, so there is no point in time to restore; restore from a snapshot`,
    );
  }
  const res = await rds.send(
    new DescribeDBInstanceAutomatedBackupsCommand({
      DbiResourceId: live.DbiResourceId,
      DBInstanceIdentifier: live.DBInstanceIdentifier,
    }),
  );
  const window = res.DBInstanceAutomatedBackups?.find((b) => b.RestoreWindow?.EarliestTime)?.RestoreWindow;
  const latest = live.LatestRestorableTime ?? window?.LatestTime;
  if (!window?.EarliestTime || !latest) {
    throw new ValidationError(
      'pointInTime',
      `${live.DBInstanceIdentifier} has no restorable window yet (no automated backup completed)`,
    );
  }
  return { earliest: window.EarliestTime, latest };
}

/** Settings copied from the live instance, in the fields both restore APIs share. */
function liveSettings(live: DBInstance, drill: boolean) {
  const provisionedIo = live.StorageType === 'gp3' || live.StorageType?.startsWith('io');
  return {
    DBInstanceClass: live.DBInstanceClass,
    DBSubnetGroupName: live.DBSubnetGroup?.DBSubnetGroupName,
    VpcSecurityGroupIds: (live.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId!).filter(Boolean),
    DBParameterGroupName: live.DBParameterGroups?.[0]?.DBParameterGroupName,
    OptionGroupName: live.OptionGroupMemberships?.[0]?.OptionGroupName,
    // A drill proves the data restores; a standby would only double its cost.
    MultiAZ: drill ? false : live.MultiAZ,
    Port: live.Endpoint?.Port ?? live.DbInstancePort,
    // Never public, whatever the source says: a restored copy of production data stays private.
    PubliclyAccessible: false,
    EnableIAMDatabaseAuthentication: live.IAMDatabaseAuthenticationEnabled,
    // Drill instances must be deletable by the drill cleanup; everything else keeps the live setting.
    DeletionProtection: drill ? false : live.DeletionProtection,
    CopyTagsToSnapshot: live.CopyTagsToSnapshot,
    StorageType: live.StorageType,
    ...(provisionedIo ? { Iops: live.Iops, StorageThroughput: live.StorageThroughput } : {}),
    AutoMinorVersionUpgrade: live.AutoMinorVersionUpgrade,
    EnableCloudwatchLogsExports: live.EnabledCloudwatchLogsExports,
    CACertificateIdentifier: live.CACertificateIdentifier,
    BackupRetentionPeriod: live.BackupRetentionPeriod,
    NetworkType: live.NetworkType,
  };
}

function restoreTags(live: DBInstance, restoredFrom: string, requestedBy: string, drill: boolean): Tag[] {
  // The live instance's own tags (environment, cost centre, ...) but never the snapshot marker.
  const inherited = userTags(live.TagList).filter(
    (t) => ![TAG_MANAGED_BY, TAG_RESTORED_FROM, TAG_REQUESTED_BY, TAG_DRILL].includes(t.Key!),
  );
  return [
    ...inherited,
    { Key: TAG_RESTORED_FROM, Value: restoredFrom.slice(0, 256) },
    { Key: TAG_REQUESTED_BY, Value: requestedBy.slice(0, 256) },
    ...(drill ? [{ Key: TAG_DRILL, Value: DRILL_TAG_VALUE }] : []),
  ];
}

/** Reads and checks everything; makes no mutating call. */
export async function planRestore(config: RestoreConfig, deps: RestoreDeps, req: RestoreRequest): Promise<RestorePlan> {
  const mode = config.mode ?? 'operator';
  const drill = mode === 'drill';
  if (!drill && !config.verifyStateMachineArn) throw new ConfigError('VERIFY_STATE_MACHINE_ARN', 'is required');
  if (drill && !config.drillPrefix) throw new ConfigError('DRILL_PREFIX', 'is required for drill restores');
  const now = deps.now();

  const targetInstanceId =
    req.targetInstanceId ??
    timestampedInstanceId(drill ? config.drillPrefix! : `${config.liveInstanceId}-restore`, now);
  if (drill && !targetInstanceId.startsWith(`${config.drillPrefix}-`)) {
    throw new ValidationError('targetInstanceId', `drill instances must be named ${config.drillPrefix}-*`);
  }
  if (targetInstanceId === config.liveInstanceId.toLowerCase()) {
    throw new ValidationError(
      'targetInstanceId',
      `is the live instance ${config.liveInstanceId}; a restore always creates a new instance`,
    );
  }
  // The restore role may only create instances under the live instance's prefix (see RestoreWorkflow).
  if (!drill && !targetInstanceId.startsWith(`${config.liveInstanceId.toLowerCase()}-`)) {
    throw new ValidationError(
      'targetInstanceId',
      `must start with "${config.liveInstanceId.toLowerCase()}-" (e.g. ${config.liveInstanceId.toLowerCase()}-restore-1); other names are outside the restore permissions`,
    );
  }

  const live = await describeInstance(deps.rds, config.liveInstanceId);
  if (!live) throw new ConfigError('DB_INSTANCE_ID', `live instance ${config.liveInstanceId} not found`);

  const existing = await describeInstance(deps.rds, targetInstanceId);
  if (existing) {
    throw new ValidationError(
      'targetInstanceId',
      `"${targetInstanceId}" is already in use by an instance (status ${existing.DBInstanceStatus}); choose another name`,
    );
  }

  const requestedBy = req.requestedBy ?? (drill ? 'restore-drill' : 'unspecified');
  const settings = liveSettings(live, drill);
  const notes: string[] = [];
  let source: RestorePlan['source'];
  let restore: PlannedRestore;
  let kmsKeyId: string | undefined;

  if (req.source.type === 'snapshot') {
    const id = req.source.snapshotId;
    const snap = await describeSnapshot(deps.rds, id);
    if (!snap) throw new ValidationError('snapshotId', `no snapshot named "${id}" exists in this region`);
    if (snap.DBInstanceIdentifier !== live.DBInstanceIdentifier) {
      throw new ValidationError(
        'snapshotId',
        `"${id}" is a snapshot of ${snap.DBInstanceIdentifier}, not of the live instance ${live.DBInstanceIdentifier}`,
      );
    }
    if (snap.Status !== 'available') {
      throw new ValidationError(
        'snapshotId',
        `"${id}" is ${snap.Status}, not available; wait for it or pick another snapshot`,
      );
    }
    kmsKeyId = snap.KmsKeyId;
    if (snap.KmsKeyId && live.KmsKeyId && snap.KmsKeyId !== live.KmsKeyId) {
      notes.push(
        `the snapshot is encrypted with ${snap.KmsKeyId}, not the live key ${live.KmsKeyId}; the new instance keeps the snapshot's key`,
      );
    }
    if (snap.EngineVersion && live.EngineVersion && snap.EngineVersion !== live.EngineVersion) {
      notes.push(`the snapshot is engine version ${snap.EngineVersion}, the live instance ${live.EngineVersion}`);
    }
    source = {
      type: 'snapshot',
      snapshotId: id,
      snapshotArn: snap.DBSnapshotArn ?? id,
      snapshotCreateTime: snap.SnapshotCreateTime?.toISOString(),
      snapshotType: snap.SnapshotType,
      engineVersion: snap.EngineVersion,
    };
    restore = {
      api: 'RestoreDBInstanceFromDBSnapshot',
      request: {
        DBInstanceIdentifier: targetInstanceId,
        DBSnapshotIdentifier: id,
        ...settings,
        Tags: restoreTags(live, source.snapshotArn, requestedBy, drill),
      },
    };
  } else {
    const window = await restorableWindow(deps.rds, live);
    const t = req.source.time;
    if (t !== 'latest' && (t < window.earliest || t > window.latest)) {
      throw new ValidationError(
        'pointInTime',
        `${t.toISOString()} is outside the restorable window [${window.earliest.toISOString()}, ${window.latest.toISOString()}] of ${live.DBInstanceIdentifier}`,
      );
    }
    kmsKeyId = live.KmsKeyId;
    const restoreTime = t === 'latest' ? 'latest' : t.toISOString();
    source = {
      type: 'point-in-time',
      restoreTime,
      restorableWindow: { earliest: window.earliest.toISOString(), latest: window.latest.toISOString() },
    };
    const request: RestoreDBInstanceToPointInTimeMessage = {
      SourceDBInstanceIdentifier: live.DBInstanceIdentifier,
      TargetDBInstanceIdentifier: targetInstanceId,
      ...(t === 'latest' ? { UseLatestRestorableTime: true } : { RestoreTime: t }),
      ...settings,
      MaxAllocatedStorage: live.MaxAllocatedStorage,
      Tags: restoreTags(live, `${live.DBInstanceIdentifier}@${restoreTime}`, requestedBy, drill),
    };
    restore = { api: 'RestoreDBInstanceToPointInTime', request };
  }
  notes.push(
    'Performance Insights, enhanced monitoring and the maintenance window are not restore settings: set them after cutover if needed',
  );

  return {
    sourceInstanceId: live.DBInstanceIdentifier!,
    source,
    targetInstanceId,
    mode,
    kmsKeyId,
    notes,
    restore,
    ...(drill
      ? {}
      : { verification: { stateMachineArn: config.verifyStateMachineArn!, executionName: targetInstanceId } }),
  };
}

/** Plans, then (unless dry run) restores into the new instance and starts verification. */
export async function runRestore(
  config: RestoreConfig,
  deps: RestoreDeps,
  req: RestoreRequest,
): Promise<RestoreResult> {
  const plan = await planRestore(config, deps, req);
  if (req.dryRun) return { targetInstanceId: plan.targetInstanceId, dryRun: true, plan };

  const restoreStartedAt = deps.now().toISOString();
  try {
    if (plan.restore.api === 'RestoreDBInstanceFromDBSnapshot') {
      await deps.rds.send(new RestoreDBInstanceFromDBSnapshotCommand(plan.restore.request));
    } else {
      await deps.rds.send(new RestoreDBInstanceToPointInTimeCommand(plan.restore.request));
    }
  } catch (err) {
    if (isAwsError(err, 'DBInstanceAlreadyExistsFault', 'DBInstanceAlreadyExists')) {
      throw new ValidationError(
        'targetInstanceId',
        `"${plan.targetInstanceId}" is already in use; choose another name`,
      );
    }
    throw err;
  }

  const verificationInput: VerificationInput = {
    targetInstanceId: plan.targetInstanceId,
    sourceInstanceId: plan.sourceInstanceId,
    restoredFrom:
      plan.source.type === 'snapshot' ? plan.source.snapshotId : `${plan.sourceInstanceId}@${plan.source.restoreTime}`,
    restoreStartedAt,
    requestedBy: req.requestedBy ?? (plan.mode === 'drill' ? 'restore-drill' : 'unspecified'),
    drill: plan.mode === 'drill',
  };
  if (!plan.verification)
    return { targetInstanceId: plan.targetInstanceId, dryRun: false, restoreStartedAt, verificationInput, plan };

  try {
    const exec = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: plan.verification.stateMachineArn,
        name: plan.verification.executionName,
        input: JSON.stringify(verificationInput),
      }),
    );
    return {
      targetInstanceId: plan.targetInstanceId,
      dryRun: false,
      executionArn: exec.executionArn,
      restoreStartedAt,
      verificationInput,
      plan,
    };
  } catch (err) {
    throw new VerificationNotStartedError(
      `instance ${plan.targetInstanceId} is being restored, but its verification did not start (${errorMessage(err)}); ` +
        `start ${plan.verification.stateMachineArn} with input ${JSON.stringify(verificationInput)}`,
      { cause: err },
    );
  }
}
