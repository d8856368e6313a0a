/**
 * Pre-migration snapshot: before pending migrations are applied at deploy time, take a managed
 * manual snapshot of the instance (tagged with the from/to schema versions) and wait until it is
 * `available`. Used by the migration custom resource when SNAPSHOT_BEFORE_MIGRATION is on: onEvent
 * starts the snapshot, the Provider framework's isComplete polls it and then migrates.
 *
 * The snapshot carries this project's prefix and managed-by tag, so the snapshot retention
 * policy prunes it like any scheduled snapshot (never below its minimum kept).
 */
import { DescribeDBSnapshotsCommand, type RDSClient } from '@aws-sdk/client-rds';
import { CrmError, errorMessage } from '../shared/errors';
import { identifierProblem, MAX_SNAPSHOT_ID_LENGTH, utcMinuteStamp } from '../snapshot/naming';
import { isAwsError } from '../snapshot/rds';
import { createManagedSnapshot } from '../snapshot/snapshot';
import { TAG_SCHEMA_VERSION } from '../snapshot/tags';

export const TAG_MIGRATION_FROM = 'migration-from';
export const TAG_MIGRATION_TO = 'migration-to';
/** The `schedule` tag value of pre-migration snapshots. */
export const PRE_MIGRATION_SCHEDULE = 'pre-migration';

export interface PreMigrationSnapshotConfig {
  readonly instanceId: string;
  /** Project snapshot prefix (`crm-<env>`): names are `<prefix>-premigration-v<from>-v<to>-YYYYMMDD-HHMM`. */
  readonly prefix: string;
  readonly environment: string;
}

/** The snapshot could not be taken or ended in a state other than available: nothing was migrated. */
export class PreMigrationSnapshotError extends CrmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PRE_MIGRATION_SNAPSHOT', message, options);
  }
}

export function preMigrationSnapshotId(prefix: string, from: number, to: number, at: Date): string {
  const id = `${prefix}-premigration-v${from}-v${to}-${utcMinuteStamp(at)}`;
  const problem = identifierProblem(id, MAX_SNAPSHOT_ID_LENGTH);
  if (problem) throw new PreMigrationSnapshotError(`snapshot name "${id}" is invalid: ${problem}`);
  return id;
}

/** Starts the snapshot; an identical name already existing (a retried event) counts as started. */
export async function startPreMigrationSnapshot(
  rds: RDSClient,
  config: PreMigrationSnapshotConfig,
  fromVersion: number,
  toVersion: number,
  now: Date,
): Promise<string> {
  const snapshotId = preMigrationSnapshotId(config.prefix, fromVersion, toVersion, now);
  try {
    await createManagedSnapshot(rds, {
      instanceId: config.instanceId,
      snapshotId,
      environment: config.environment,
      schedule: PRE_MIGRATION_SCHEDULE,
      tags: {
        [TAG_SCHEMA_VERSION]: String(fromVersion),
        [TAG_MIGRATION_FROM]: String(fromVersion),
        [TAG_MIGRATION_TO]: String(toVersion),
      },
    });
  } catch (err) {
    throw new PreMigrationSnapshotError(
      `could not start the pre-migration snapshot ${snapshotId} of ${config.instanceId}: ${errorMessage(err)}; no migration was applied`,
      { cause: err },
    );
  }
  return snapshotId;
}

export type SnapshotState = 'creating' | 'available';

/** `creating` while it is being taken, `available` when done; any other state is an error. */
export async function preMigrationSnapshotState(rds: RDSClient, snapshotId: string): Promise<SnapshotState> {
  let status: string | undefined;
  try {
    const out = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotId }));
    status = out.DBSnapshots?.[0]?.Status;
  } catch (err) {
    if (isAwsError(err, 'DBSnapshotNotFoundFault')) {
      throw new PreMigrationSnapshotError(
        `pre-migration snapshot ${snapshotId} does not exist; no migration was applied`,
      );
    }
    throw err;
  }
  if (status === 'available') return 'available';
  if (status === 'creating' || status === 'pending') return 'creating';
  throw new PreMigrationSnapshotError(
    `pre-migration snapshot ${snapshotId} is ${status ?? 'in an unknown state'}; no migration was applied`,
  );
}
