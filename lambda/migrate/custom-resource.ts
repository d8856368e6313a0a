/**
 * Pure core of the deploy-time migration custom resource (CDK Provider framework `onEvent`).
 *
 * - Create and Update apply pending migrations. CDK puts a hash of the migration files in the
 *   resource's properties (`MigrationsHash`), so CloudFormation sends an Update exactly when
 *   migrations change.
 * - Delete is a no-op: it never touches the database (removing the stack must not drop data).
 * - A failing migration throws a MigrationError (file, statement, SQL message); the Provider
 *   framework puts that message in the CloudFormation event and the database stays at the last
 *   good migration.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { Migration } from './migrations';
import { migrationsHash } from './migrations';
import { type MigrationPool, type RunMigrationsOptions, runMigrations } from './runner';

/** Stable: the resource is one logical thing per database, and a new id would make CloudFormation send a Delete. */
export const PHYSICAL_RESOURCE_ID = 'crm-schema-migrations';

/** What the Provider framework expects back from onEvent. Data values are strings, as Fn::GetAtt returns them. */
export interface SchemaMigrationResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: {
    readonly CurrentVersion: string;
    readonly AppliedCount: string;
    /** Set when a pre-migration snapshot was started: isComplete waits for it, then migrates. */
    readonly SnapshotId?: string;
    /**
     * 'true' when the instance refused the snapshot (backing up, modifying): isComplete creates it
     * under SnapshotId, from SnapshotFromVersion to SnapshotToVersion, once the instance accepts it.
     */
    readonly SnapshotDeferred?: string;
    readonly SnapshotFromVersion?: string;
    readonly SnapshotToVersion?: string;
  };
}

/** What the Provider framework expects back from isComplete. */
export interface SchemaMigrationCompletion {
  readonly IsComplete: boolean;
  readonly Data?: { readonly CurrentVersion: string; readonly AppliedCount: string; readonly SnapshotId?: string };
}

/** Takes a managed snapshot before pending migrations are applied (SNAPSHOT_BEFORE_MIGRATION). */
export interface PreMigrationSnapshotter {
  /**
   * Starts the snapshot of the schema at `fromVersion` before migrating to `toVersion`; returns its
   * id, `deferred` when the instance refused it for now (backing up, modifying).
   */
  start(fromVersion: number, toVersion: number): Promise<{ snapshotId: string; deferred: boolean }>;
  /** Creates a deferred snapshot under its planned id: `deferred` again while the instance still refuses. */
  retry(snapshotId: string, fromVersion: number, toVersion: number): Promise<'started' | 'deferred'>;
  /**
   * `creating` until the snapshot is usable, `available` then; `missing` only for a deferred
   * snapshot not created yet; throws for any other state.
   */
  state(snapshotId: string, opts?: { deferred?: boolean }): Promise<'missing' | 'creating' | 'available'>;
}

export type SchemaMigrationLogger = Pick<Logger, 'info' | 'warn'>;

export interface OpenedPool {
  readonly pool: MigrationPool & { end(): Promise<void> };
  /** Names the database in connection errors, e.g. `crm at db.example.com:5432`. */
  readonly target?: string;
}

export interface SchemaMigrationDeps {
  /** Opens a pool to the database; called for Create and Update only, ended before returning. */
  openPool(): Promise<OpenedPool>;
  readonly migrations: readonly Migration[];
  /** Runner options (timeouts, retries, target); `appliedBy` defaults to the stack and logical id. */
  readonly runner?: Omit<RunMigrationsOptions, 'plan' | 'migrations' | 'target'>;
  readonly logger?: SchemaMigrationLogger;
  /** When set, pending migrations wait for a snapshot (onEvent starts it, isComplete migrates). */
  readonly preMigrationSnapshot?: PreMigrationSnapshotter;
}

/** `cloudformation:<stack name>/<logical id>`, recorded as schema_migrations.applied_by. */
export function appliedByFor(event: CloudFormationCustomResourceEvent): string {
  // StackId: arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>
  const stackName = event.StackId.split(':stack/')[1]?.split('/')[0] ?? event.StackId;
  return `cloudformation:${stackName}/${event.LogicalResourceId}`;
}

export async function onSchemaMigrationEvent(
  event: CloudFormationCustomResourceEvent,
  deps: SchemaMigrationDeps,
): Promise<SchemaMigrationResponse> {
  const logger = deps.logger;
  if (event.RequestType === 'Delete') {
    logger?.info('Delete is a no-op: migrations are never rolled back and nothing is dropped', {
      physicalResourceId: event.PhysicalResourceId,
    });
    return { PhysicalResourceId: event.PhysicalResourceId };
  }

  const expectedHash = event.ResourceProperties.MigrationsHash;
  const bundledHash = migrationsHash(deps.migrations);
  if (expectedHash !== undefined && expectedHash !== bundledHash) {
    // Not fatal: the files in the bundle are what gets applied, and they are verified against the history.
    logger?.warn('MigrationsHash differs from the migrations in this bundle', { expectedHash, bundledHash });
  }

  const physicalId = event.RequestType === 'Create' ? PHYSICAL_RESOURCE_ID : event.PhysicalResourceId;
  if (deps.preMigrationSnapshot) {
    const { pool, target } = await deps.openPool();
    let plan: Awaited<ReturnType<typeof runMigrations>>;
    try {
      plan = await runMigrations(pool, { ...deps.runner, target, migrations: deps.migrations, plan: true });
    } finally {
      await pool.end();
    }
    if (plan.pending.length > 0) {
      const { snapshotId, deferred } = await deps.preMigrationSnapshot.start(plan.currentVersion, plan.latestVersion);
      logger?.info(
        deferred
          ? 'instance busy (backing up or modifying): the pre-migration snapshot is taken once it is available, then migrations run'
          : 'pre-migration snapshot started; migrations run when it is available',
        {
          snapshotId,
          fromVersion: plan.currentVersion,
          toVersion: plan.latestVersion,
          pending: plan.pending.map((m) => m.version),
        },
      );
      return {
        PhysicalResourceId: physicalId,
        Data: {
          CurrentVersion: String(plan.currentVersion),
          AppliedCount: '0',
          SnapshotId: snapshotId,
          ...(deferred
            ? {
                SnapshotDeferred: 'true',
                SnapshotFromVersion: String(plan.currentVersion),
                SnapshotToVersion: String(plan.latestVersion),
              }
            : {}),
        },
      };
    }
  }
  return applyMigrations(event, deps, physicalId);
}

/**
 * isComplete of the Provider framework (only configured with a pre-migration snapshot): while the
 * snapshot is being taken, not complete; once it is available, applies the pending migrations. A
 * deferred snapshot (the instance was busy at onEvent) is created here once the instance accepts it.
 * A snapshot that fails fails the deployment before any migration ran.
 */
export async function onSchemaMigrationIsComplete(
  event: CloudFormationCustomResourceEvent & { readonly Data?: SchemaMigrationResponse['Data'] },
  deps: SchemaMigrationDeps,
): Promise<SchemaMigrationCompletion> {
  const snapshotId = event.Data?.SnapshotId;
  if (event.RequestType === 'Delete' || !snapshotId) return { IsComplete: true };
  if (!deps.preMigrationSnapshot) throw new Error('isComplete needs the pre-migration snapshotter');
  const deferred = event.Data?.SnapshotDeferred === 'true';
  const state = await deps.preMigrationSnapshot.state(snapshotId, { deferred });
  if (state === 'missing') {
    const outcome = await deps.preMigrationSnapshot.retry(
      snapshotId,
      Number(event.Data?.SnapshotFromVersion),
      Number(event.Data?.SnapshotToVersion),
    );
    deps.logger?.info(
      outcome === 'started' ? 'deferred pre-migration snapshot started' : 'instance still busy: snapshot deferred',
      { snapshotId },
    );
    return { IsComplete: false };
  }
  if (state !== 'available') {
    deps.logger?.info('waiting for the pre-migration snapshot', { snapshotId, state });
    return { IsComplete: false };
  }
  const physicalId = event.RequestType === 'Create' ? PHYSICAL_RESOURCE_ID : event.PhysicalResourceId;
  const result = await applyMigrations(event, deps, physicalId);
  return { IsComplete: true, Data: { ...result.Data!, SnapshotId: snapshotId } };
}

async function applyMigrations(
  event: CloudFormationCustomResourceEvent,
  deps: SchemaMigrationDeps,
  physicalId: string,
): Promise<SchemaMigrationResponse> {
  const logger = deps.logger;
  const { pool, target } = await deps.openPool();
  try {
    const result = await runMigrations(pool, {
      appliedBy: appliedByFor(event),
      ...deps.runner,
      target,
      migrations: deps.migrations,
      onProgress: (progress) => {
        logger?.info(progress.type === 'applying' ? 'applying migration' : 'applied migration', { ...progress });
        deps.runner?.onProgress?.(progress);
      },
    });
    logger?.info('migrations complete', {
      requestType: event.RequestType,
      previousVersion: result.previousVersion,
      currentVersion: result.currentVersion,
      applied: result.applied,
    });
    return {
      PhysicalResourceId: physicalId,
      Data: { CurrentVersion: String(result.currentVersion), AppliedCount: String(result.applied.length) },
    };
  } finally {
    await pool.end();
  }
}
