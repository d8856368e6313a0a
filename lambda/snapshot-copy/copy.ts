/**
 * Core of the cross-region copy: copy one managed snapshot to the destination region with a
 * customer managed key, then prune the destination copies with the same retention policy as the
 * source (`planRetention`).
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import {
  CopyDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  type DescribeDBSnapshotsCommandOutput,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { ConfigError, NotFoundError } from '../shared/errors';
import type { MetricSink } from '../shared/metrics';
import { isAwsError, listSnapshots } from '../snapshot/rds';
import type { RetentionPolicy } from '../snapshot/retention';
import { PruneError, pruneSnapshots } from '../snapshot/snapshot';
import { isManaged, TAG_COPIED_FROM, userTags } from '../snapshot/tags';
import { MANUAL_SNAPSHOT_CREATED, type RdsSnapshotEvent } from './event';
import { destinationKeyProblem } from './kms-key';

export interface CopyConfig {
  readonly instanceId: string;
  readonly prefix: string;
  readonly sourceRegion: string;
  readonly destinationRegion: string;
  readonly destinationKmsKeyArn: string;
  /** Retention of the copies; the same rules as the source. */
  readonly retention: RetentionPolicy;
}

export interface CopyDeps {
  readonly source: RDSClient;
  readonly destination: RDSClient;
  readonly metrics: MetricSink;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  readonly now: () => Date;
}

export interface CopyResult {
  readonly snapshotId: string;
  readonly outcome: 'copy-started' | 'already-exists' | 'ignored';
  readonly reason?: string;
  readonly destinationRegion: string;
  readonly pruned: readonly string[];
}

export function validateCopyConfig(config: CopyConfig): void {
  const problem = destinationKeyProblem(config.destinationKmsKeyArn, config.destinationRegion);
  if (problem) throw new ConfigError('DESTINATION_KMS_KEY_ARN', problem);
  if (config.destinationRegion === config.sourceRegion) {
    throw new ConfigError('DESTINATION_REGION', `must differ from the source region ${config.sourceRegion}`);
  }
}

export async function copyManagedSnapshot(
  config: CopyConfig,
  deps: CopyDeps,
  event: RdsSnapshotEvent,
): Promise<CopyResult> {
  validateCopyConfig(config);
  const snapshotId = event.detail.SourceIdentifier;
  const base = { snapshotId, destinationRegion: config.destinationRegion, pruned: [] as string[] };
  const ignore = (reason: string): CopyResult => {
    deps.logger.info('snapshot not copied', { snapshotId, reason });
    return { ...base, outcome: 'ignored', reason };
  };

  if (event.detail.EventID !== MANUAL_SNAPSHOT_CREATED)
    return ignore(`event ${event.detail.EventID} is not "manual snapshot created"`);
  if (!snapshotId.startsWith(`${config.prefix}-`)) return ignore(`not named ${config.prefix}-*`);

  let described: DescribeDBSnapshotsCommandOutput;
  try {
    described = await deps.source.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotId }));
  } catch (err) {
    if (isAwsError(err, 'DBSnapshotNotFoundFault'))
      throw new NotFoundError(`snapshot ${snapshotId} no longer exists in ${config.sourceRegion}`);
    throw err;
  }
  const snap = described.DBSnapshots?.[0];
  if (!snap?.DBSnapshotArn)
    throw new NotFoundError(`snapshot ${snapshotId} no longer exists in ${config.sourceRegion}`);
  if (!isManaged(snap.TagList)) return ignore('no managed-by tag');
  if (snap.DBInstanceIdentifier !== config.instanceId)
    return ignore(`snapshot of ${snap.DBInstanceIdentifier}, not ${config.instanceId}`);
  if (snap.Status !== 'available')
    throw new Error(`snapshot ${snapshotId} is ${snap.Status}, not available: retry later`);

  let outcome: CopyResult['outcome'] = 'copy-started';
  try {
    await deps.destination.send(
      new CopyDBSnapshotCommand({
        SourceDBSnapshotIdentifier: snap.DBSnapshotArn,
        TargetDBSnapshotIdentifier: snapshotId,
        KmsKeyId: config.destinationKmsKeyArn,
        // No PreSignedUrl: outside GovCloud RDS reads the source snapshot by its ARN itself.
        // Tags are passed explicitly (not CopyTags) so the copy also says where it came from.
        Tags: [...userTags(snap.TagList), { Key: TAG_COPIED_FROM, Value: snap.DBSnapshotArn }],
      }),
    );
    deps.logger.info('cross-region copy started', { snapshotId, destinationRegion: config.destinationRegion });
  } catch (err) {
    // A redelivered event: the copy exists already.
    if (!isAwsError(err, 'DBSnapshotAlreadyExistsFault', 'DBSnapshotAlreadyExists')) throw err;
    outcome = 'already-exists';
  }
  deps.metrics.addMetric('SnapshotCopied', 'Count', outcome === 'copy-started' ? 1 : 0);

  // Not by DBInstanceIdentifier: that parameter must name an instance existing in the region it is
  // asked in, and the live instance does not exist in the destination region. All manual snapshots
  // of the region instead; retention keeps only this project's (prefix and managed-by tag).
  const copies = await listSnapshots(deps.destination, { SnapshotType: 'manual' });
  const { pruned, failures } = await pruneSnapshots(
    deps.destination,
    copies,
    { ...config.retention, prefix: config.prefix },
    deps.now(),
    deps.logger,
  );
  deps.metrics.addMetric('SnapshotCopiesPruned', 'Count', pruned.length);
  if (failures.length > 0) throw new PruneError(failures);
  return { ...base, outcome, pruned };
}
