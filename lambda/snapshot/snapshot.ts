/**
 * Core of the scheduled snapshot: take this slot's snapshot (idempotently), prune by the
 * retention policy, report the manual-snapshot count for the quota alarm. All clients injected.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import { CreateDBSnapshotCommand, type DBSnapshot, DeleteDBSnapshotCommand, type RDSClient } from '@aws-sdk/client-rds';
import { CrmError, errorMessage } from '../shared/errors';
import type { MetricSink } from '../shared/metrics';
import { snapshotName } from './naming';
import { isAwsError, listSnapshots } from './rds';
import { planRetention, type RetentionPolicy } from './retention';
import type { SchemaVersionLookup } from './schema-version';
import { MANAGED_BY_VALUE, TAG_ENVIRONMENT, TAG_MANAGED_BY, TAG_SCHEDULE, TAG_SCHEMA_VERSION, toTagList } from './tags';

export interface SnapshotConfig {
  readonly instanceId: string;
  readonly prefix: string;
  readonly environment: string;
  /** Value of the `schedule` tag: the EventBridge schedule's name, or `manual` from the CLI. */
  readonly scheduleName: string;
  readonly retention: RetentionPolicy;
}

export interface SnapshotDeps {
  readonly rds: RDSClient;
  readonly metrics: MetricSink;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Resolves the schema version; may throw or return undefined (tag then omitted). */
  readonly schemaVersion?: SchemaVersionLookup;
  readonly now: () => Date;
  /** Waits between polls of a busy instance; injected so tests need no wall clock. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** How long a run waits for an instance that is backing up or being modified. */
export interface BusyInstanceWait {
  /** Give up (SnapshotDeferredError) when the next poll would start later than this after the first refusal. */
  readonly maxWaitMs: number;
  readonly pollIntervalMs: number;
}

export interface SnapshotRequest {
  /** The schedule slot; names the snapshot. */
  readonly scheduledTime: Date;
  /** Run retention after creating. @default true */
  readonly prune?: boolean;
  /** Overrides `config.scheduleName` for the tag (e.g. `manual`). */
  readonly scheduleTag?: string;
  /**
   * Wait while the instance is busy (backing up, modifying: CreateDBSnapshot answers
   * InvalidDBInstanceState; or another snapshot of it is being created), then fail with the
   * retryable SnapshotDeferredError. Without it a busy instance gives outcome `skipped` at once
   * (`ops snapshot now`).
   */
  readonly waitWhileBusy?: BusyInstanceWait;
}

export interface SnapshotResult {
  readonly snapshotId: string;
  readonly outcome: 'created' | 'already-exists' | 'skipped';
  /** Why the snapshot was skipped (a snapshot of the instance is still being created). */
  readonly reason?: string;
  readonly schemaVersion?: string;
  readonly pruned: readonly string[];
  readonly manualSnapshotCount: number;
}

/** Thrown after the whole run when one or more deletions failed; the snapshot itself succeeded. */
export class PruneError extends Error {
  constructor(readonly failures: readonly { snapshotId: string; error: string }[]) {
    super(
      `could not delete ${failures.length} expired snapshot(s): ` +
        failures.map((f) => `${f.snapshotId} (${f.error})`).join('; '),
    );
    this.name = 'PruneError';
  }
}

/**
 * The instance stayed busy for the whole wait: no snapshot was taken for the slot. Thrown so the
 * invocation fails and Lambda's asynchronous retry runs the same slot again later.
 */
export class SnapshotDeferredError extends CrmError {
  constructor(
    readonly snapshotId: string,
    readonly reason: string,
    waitedMs: number,
  ) {
    super(
      'SNAPSHOT_DEFERRED',
      `snapshot ${snapshotId} deferred: ${reason} (waited ${Math.round(waitedMs / 1000)} s); the invocation is retried`,
    );
    this.name = 'SnapshotDeferredError';
  }
}

/** CreateDBSnapshot's refusal while the instance is backing up, modifying, rebooting, ... */
export function isInstanceStateError(err: unknown): boolean {
  // The SDK names the exception InvalidDBInstanceStateFault; the wire code is InvalidDBInstanceState.
  return isAwsError(err, 'InvalidDBInstanceStateFault', 'InvalidDBInstanceState');
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Deletes the snapshots the policy selects; a snapshot already gone counts as pruned. */
export async function pruneSnapshots(
  rds: RDSClient,
  snapshots: readonly DBSnapshot[],
  policy: RetentionPolicy,
  now: Date,
  logger: Pick<Logger, 'info' | 'warn'>,
): Promise<{ pruned: string[]; failures: { snapshotId: string; error: string }[] }> {
  const plan = planRetention(snapshots, policy, now);
  const pruned: string[] = [];
  const failures: { snapshotId: string; error: string }[] = [];
  for (const s of plan.toDelete) {
    const id = s.DBSnapshotIdentifier!;
    try {
      await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id }));
      pruned.push(id);
      logger.info('pruned expired snapshot', { snapshotId: id, createdAt: s.SnapshotCreateTime?.toISOString() });
    } catch (err) {
      if (isAwsError(err, 'DBSnapshotNotFoundFault')) {
        pruned.push(id);
        continue;
      }
      logger.warn('could not delete expired snapshot', { snapshotId: id, error: errorMessage(err) });
      failures.push({ snapshotId: id, error: errorMessage(err) });
    }
  }
  return { pruned, failures };
}

export async function takeScheduledSnapshot(
  config: SnapshotConfig,
  deps: SnapshotDeps,
  request: SnapshotRequest,
): Promise<SnapshotResult> {
  const { rds, metrics, logger } = deps;
  const snapshotId = snapshotName(config.prefix, request.scheduledTime);
  const sleep = deps.sleep ?? defaultSleep;

  let before: DBSnapshot[];
  let outcome: SnapshotResult['outcome'];
  let reason: string | undefined;
  let schemaVersion: string | undefined;
  let firstRefusal: number | undefined;
  for (;;) {
    before = await listSnapshots(rds, { DBInstanceIdentifier: config.instanceId });
    const creating = before.filter((s) => s.Status === 'creating' && s.DBSnapshotIdentifier !== snapshotId);
    let busy: string | undefined;
    if (before.some((s) => s.DBSnapshotIdentifier === snapshotId)) {
      outcome = 'already-exists';
      logger.info('snapshot for this slot already exists (retried invocation)', { snapshotId });
      break;
    }
    if (creating.length > 0) {
      busy = `snapshot ${creating.map((s) => s.DBSnapshotIdentifier).join(', ')} of ${config.instanceId} is still being created`;
    } else {
      schemaVersion ??= await lookupSchemaVersion(deps);
      try {
        outcome = await createManagedSnapshot(rds, {
          instanceId: config.instanceId,
          snapshotId,
          environment: config.environment,
          schedule: request.scheduleTag ?? config.scheduleName,
          tags: { [TAG_SCHEMA_VERSION]: schemaVersion },
        });
        logger.info(
          outcome === 'created' ? 'snapshot started' : 'snapshot for this slot already exists (retried invocation)',
          { snapshotId, schemaVersion },
        );
        break;
      } catch (err) {
        if (!isInstanceStateError(err)) throw err;
        busy = `${config.instanceId} cannot be snapshotted now (${errorMessage(err)})`;
      }
    }
    // The instance is busy (the backup window, a modification, another snapshot).
    if (!request.waitWhileBusy) {
      outcome = 'skipped';
      reason = busy;
      logger.warn('skipping snapshot', { snapshotId, reason });
      break;
    }
    const now = deps.now().getTime();
    firstRefusal ??= now;
    const waited = now - firstRefusal;
    if (waited + request.waitWhileBusy.pollIntervalMs > request.waitWhileBusy.maxWaitMs) {
      metrics.addMetric('SnapshotDeferred', 'Count', 1);
      logger.warn('instance still busy: snapshot deferred to a retry', { snapshotId, reason: busy, waitedMs: waited });
      throw new SnapshotDeferredError(snapshotId, busy, waited);
    }
    logger.info('instance busy: waiting before the next attempt', { snapshotId, reason: busy, waitedMs: waited });
    await sleep(request.waitWhileBusy.pollIntervalMs);
  }
  metrics.addMetric('SnapshotCreated', 'Count', outcome === 'created' ? 1 : 0);
  metrics.addMetric('SnapshotSkipped', 'Count', outcome === 'skipped' ? 1 : 0);

  let pruned: string[] = [];
  let failures: { snapshotId: string; error: string }[] = [];
  if (request.prune ?? true) {
    // Pruning works on the listing taken before the create: the new snapshot is `creating`
    // anyway, and retention never deletes the newest available one.
    ({ pruned, failures } = await pruneSnapshots(
      rds,
      before,
      { ...config.retention, prefix: config.prefix },
      deps.now(),
      logger,
    ));
    metrics.addMetric('SnapshotsPruned', 'Count', pruned.length);
  }

  // The manual-snapshot quota is per account and region, so count every manual snapshot.
  const manualSnapshotCount = (await listSnapshots(rds, { SnapshotType: 'manual' })).length;
  metrics.addMetric('ManualSnapshotCount', 'Count', manualSnapshotCount);

  // The slot is covered even when pruning failed: the 26-hour alarm watches this metric.
  if (outcome !== 'skipped') metrics.addMetric('SnapshotSucceeded', 'Count', 1);
  if (failures.length > 0) throw new PruneError(failures);
  return { snapshotId, outcome, reason, schemaVersion, pruned, manualSnapshotCount };
}

async function lookupSchemaVersion(deps: SnapshotDeps): Promise<string | undefined> {
  if (!deps.schemaVersion) return undefined;
  try {
    const v = await deps.schemaVersion();
    if (v === undefined) deps.logger.warn('schema version unknown: schema-version tag omitted');
    return v;
  } catch (err) {
    deps.logger.warn('schema version lookup failed: schema-version tag omitted', { error: errorMessage(err) });
    return undefined;
  }
}

export interface ManagedSnapshotRequest {
  readonly instanceId: string;
  readonly snapshotId: string;
  /** Value of the environment tag. */
  readonly environment: string;
  /** Value of the schedule tag (`crm-prod-daily`, `manual`, `pre-migration`, ...). */
  readonly schedule: string;
  /** Further tags; undefined values are left out. */
  readonly tags?: Record<string, string | undefined>;
}

/**
 * Starts a manual snapshot carrying this project's managed-by tag (so retention may prune it).
 * The same name already existing means a retried request got that far: `already-exists`.
 */
export async function createManagedSnapshot(
  rds: RDSClient,
  req: ManagedSnapshotRequest,
): Promise<'created' | 'already-exists'> {
  try {
    await rds.send(
      new CreateDBSnapshotCommand({
        DBInstanceIdentifier: req.instanceId,
        DBSnapshotIdentifier: req.snapshotId,
        Tags: toTagList({
          [TAG_MANAGED_BY]: MANAGED_BY_VALUE,
          [TAG_ENVIRONMENT]: req.environment,
          [TAG_SCHEDULE]: req.schedule,
          ...req.tags,
        }),
      }),
    );
    return 'created';
  } catch (err) {
    if (isAwsError(err, 'DBSnapshotAlreadyExistsFault', 'DBSnapshotAlreadyExists')) return 'already-exists';
    throw err;
  }
}
