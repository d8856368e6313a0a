/**
 * Pre-migration snapshot: before pending migrations are applied at deploy time, take a managed
 * manual snapshot of the instance (tagged with the from/to schema versions) and wait until it is
 * `available`. Used by the migration custom resource when SNAPSHOT_BEFORE_MIGRATION is on: onEvent
 * starts the snapshot, the Provider framework's isComplete polls it and then migrates.
 *
 * An instance that is backing up or being modified refuses CreateDBSnapshot (InvalidDBInstanceState).
 * That is not a failure: onEvent reports the snapshot as deferred, and isComplete creates it under
 * the same name once the instance accepts it (until the Provider's total timeout).
 *
 * The snapshot carries this project's prefix and managed-by tag, so the snapshot retention
 * policy prunes it like any scheduled snapshot (never below its minimum kept).
 */
import { DescribeDBSnapshotsCommand, type RDSClient } from '@aws-sdk/client-rds';
import { CrmError, errorMessage } from '../shared/errors';
import { identifierProblem, MAX_SNAPSHOT_ID_LENGTH, utcMinuteStamp } from '../snapshot/naming';
import { isAwsError } from '../snapshot/rds';
import { createManagedSnapshot, isInstanceStateError } from '../snapshot/snapshot';
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

/**
 * Creates the snapshot under its planned name: `started` (also when that name already exists, a
 * retried event), `deferred` while the instance refuses snapshots (backing up, modifying).
 */
export async function createPreMigrationSnapshot(
  rds: RDSClient,
  config: PreMigrationSnapshotConfig,
  snapshotId: string,
  fromVersion: number,
  toVersion: number,
): Promise<'started' | 'deferred'> {
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
    return 'started';
  } catch (err) {
    if (isInstanceStateError(err)) return 'deferred';
    throw new PreMigrationSnapshotError(
      `could not start the pre-migration snapshot ${snapshotId} of ${config.instanceId}: ${errorMessage(err)}; no migration was applied`,
      { cause: err },
    );
  }
}

/** Names and starts the snapshot (see createPreMigrationSnapshot). */
export async function startPreMigrationSnapshot(
  rds: RDSClient,
  config: PreMigrationSnapshotConfig,
  fromVersion: number,
  toVersion: number,
  now: Date,
): Promise<{ snapshotId: string; deferred: boolean }> {
  const snapshotId = preMigrationSnapshotId(config.prefix, fromVersion, toVersion, now);
  const outcome = await createPreMigrationSnapshot(rds, config, snapshotId, fromVersion, toVersion);
  return { snapshotId, deferred: outcome === 'deferred' };
}

export type SnapshotState = 'missing' | 'creating' | 'available';

/**
 * `creating` while it is being taken, `available` when done; any other state is an error. A
 * snapshot that does not exist is an error too, unless it was deferred (`missing`: not started yet).
 */
export async function preMigrationSnapshotState(
  rds: RDSClient,
  snapshotId: string,
  opts: { deferred?: boolean } = {},
): Promise<SnapshotState> {
  let status: string | undefined;
  try {
    const out = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotId }));
    status = out.DBSnapshots?.[0]?.Status;
  } catch (err) {
    if (isAwsError(err, 'DBSnapshotNotFoundFault', 'DBSnapshotNotFound')) {
      if (opts.deferred) return 'missing';
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
