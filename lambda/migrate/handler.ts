/**
 * Deploy-time schema migration: `onEvent` of a CloudFormation custom resource (CDK Provider
 * framework). Thin: reads configuration, builds the database pool, and delegates to
 * `onSchemaMigrationEvent` (custom-resource.ts).
 *
 * Environment:
 *   DB_SECRET_ARN                   required. The RDS master secret (JSON: username, password,
 *                                   host, port, dbname). Fetched per connection attempt, so a
 *                                   rotation between attempts is picked up.
 *   DB_HOST                         the DB instance endpoint (not the proxy: migrations need a
 *                                   direct session for the advisory lock). @default secret.host
 *   DB_PORT                         @default secret.port, else 5432
 *   DB_NAME                         @default secret.dbname, else 'crm'
 *   MIGRATION_LOCK_TIMEOUT_MS       SET LOCAL lock_timeout per migration. @default 5000
 *   MIGRATION_STATEMENT_TIMEOUT_MS  SET LOCAL statement_timeout per migration, capped to the
 *                                   Lambda's remaining time. @default 900000
 *   DB_CA_BUNDLE                    CA bundle for TLS verify-full (lambda/shared/db.ts).
 *                                   @default /var/runtime/ca-cert.pem (includes the RDS CAs)
 *   SNAPSHOT_BEFORE_MIGRATION       'true': before pending migrations, take a managed snapshot and
 *                                   migrate only once it is available (onEvent starts it, the
 *                                   `isComplete` export polls it and migrates). @default off
 *   DB_INSTANCE_ID, SNAPSHOT_PREFIX, ENVIRONMENT
 *                                   required with SNAPSHOT_BEFORE_MIGRATION: the instance, the
 *                                   project's snapshot prefix, the environment tag
 *
 * IAM: secretsmanager:GetSecretValue on DB_SECRET_ARN (and kms:Decrypt on its key when it is a
 * customer-managed key). Network: the function's security group must reach DB_HOST:DB_PORT, and
 * Secrets Manager must be reachable (VPC endpoint) from its subnets.
 *
 * An unreachable database fails the invocation in under a minute: 10 s connect timeout, 4
 * attempts, 2 s / 4 s / 8 s between them.
 */
import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { createPool, type DbConnectionOptions } from '../shared/db';
import { passwordFromSecret, readDbSecret } from '../shared/db-secret';
import { ConfigError, errorMessage } from '../shared/errors';
import { createLogger } from '../shared/logger';
import {
  onSchemaMigrationEvent,
  onSchemaMigrationIsComplete,
  type SchemaMigrationCompletion,
  type SchemaMigrationDeps,
  type SchemaMigrationResponse,
} from './custom-resource';
import { loadMigrations, type Migration } from './migrations';
import {
  createPreMigrationSnapshot,
  type PreMigrationSnapshotConfig,
  preMigrationSnapshotState,
  startPreMigrationSnapshot,
} from './pre-migration-snapshot';
import { DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_STATEMENT_TIMEOUT_MS } from './runner';

export { migrationsHash } from './migrations';

export interface MigrationHandlerConfig {
  readonly secretArn: string;
  /** Present when SNAPSHOT_BEFORE_MIGRATION is on. */
  readonly preMigrationSnapshot?: PreMigrationSnapshotConfig;
  readonly host?: string;
  readonly port?: number;
  readonly database?: string;
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback?: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(name, `must be a positive integer (got '${raw}')`);
  }
  return value;
}

/** Reads and validates the environment; errors name the variable. */
export function configFromEnv(env: NodeJS.ProcessEnv): MigrationHandlerConfig {
  const secretArn = env.DB_SECRET_ARN;
  if (!secretArn) throw new ConfigError('DB_SECRET_ARN', 'is required (ARN of the RDS master secret)');
  let preMigrationSnapshot: PreMigrationSnapshotConfig | undefined;
  const snapshotFlag = env.SNAPSHOT_BEFORE_MIGRATION ?? '';
  if (!['', 'true', 'false'].includes(snapshotFlag)) {
    throw new ConfigError('SNAPSHOT_BEFORE_MIGRATION', `must be 'true' or 'false' (got '${snapshotFlag}')`);
  }
  if (snapshotFlag === 'true') {
    for (const name of ['DB_INSTANCE_ID', 'SNAPSHOT_PREFIX', 'ENVIRONMENT'] as const) {
      if (!env[name]) throw new ConfigError(name, 'is required when SNAPSHOT_BEFORE_MIGRATION is true');
    }
    preMigrationSnapshot = {
      instanceId: env.DB_INSTANCE_ID!,
      prefix: env.SNAPSHOT_PREFIX!,
      environment: env.ENVIRONMENT!,
    };
  }
  return {
    secretArn,
    preMigrationSnapshot,
    host: env.DB_HOST || undefined,
    port: positiveInt(env, 'DB_PORT'),
    database: env.DB_NAME || undefined,
    lockTimeoutMs: positiveInt(env, 'MIGRATION_LOCK_TIMEOUT_MS', DEFAULT_LOCK_TIMEOUT_MS) as number,
    statementTimeoutMs: positiveInt(env, 'MIGRATION_STATEMENT_TIMEOUT_MS', DEFAULT_STATEMENT_TIMEOUT_MS) as number,
  };
}

export interface MigrationHandlerOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly secretsManager: SecretsManagerClient;
  /** Used only with SNAPSHOT_BEFORE_MIGRATION. */
  readonly rds?: RDSClient;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default loadMigrations() on first use */
  readonly migrations?: readonly Migration[];
  /** Only tests against the non-TLS embedded PostgreSQL pass 'disable'. @default 'verify-full' */
  readonly tls?: DbConnectionOptions['tls'];
  /** @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** @default 4 */
  readonly connectAttempts?: number;
  /** @default 2_000 (then doubling) */
  readonly connectRetryDelayMs?: number;
}

/** Time kept back from the Lambda timeout so a cancelled statement is still reported. */
const TIMEOUT_MARGIN_MS = 20_000;
const DEFAULT_ADVISORY_WAIT_MS = 120_000;

export function createOnEventHandler(opts: MigrationHandlerOptions) {
  return createHandlers(opts).onEvent;
}

/** onEvent and isComplete of the migration custom resource, sharing configuration and clients. */
export function createHandlers(opts: MigrationHandlerOptions) {
  const logger = createLogger('crm-migrate');
  let migrations = opts.migrations;

  const onEvent = async (
    event: CloudFormationCustomResourceEvent,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<SchemaMigrationResponse> => {
    logger.info('custom resource event', {
      requestType: event.RequestType,
      logicalResourceId: event.LogicalResourceId,
      migrationsHash: event.ResourceProperties.MigrationsHash,
    });
    if (event.RequestType === 'Delete') {
      // Never reads config, the secret or the database.
      return onSchemaMigrationEvent(event, {
        openPool: () => Promise.reject(new Error('unreachable')),
        migrations: [],
        logger,
      });
    }
    return failLoudly(() => onSchemaMigrationEvent(event, deps(context)));
  };

  const isComplete = async (
    event: CloudFormationCustomResourceEvent & { readonly Data?: SchemaMigrationResponse['Data'] },
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<SchemaMigrationCompletion> => {
    if (event.RequestType === 'Delete' || !event.Data?.SnapshotId) return { IsComplete: true };
    return failLoudly(() => onSchemaMigrationIsComplete(event, deps(context)));
  };

  async function failLoudly<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      // The Provider framework passes the message to CloudFormation; the log keeps the details.
      logger.error('schema migration failed', { error: err as Error });
      throw err;
    }
  }

  function deps(context?: Pick<Context, 'getRemainingTimeInMillis'>): SchemaMigrationDeps {
    const config = configFromEnv(opts.env);
    migrations ??= loadMigrations();
    // Cap the timeouts to the invocation's remaining time, so PostgreSQL cancels a slow statement
    // (and we report it) before Lambda kills the function mid-transaction.
    const budget = context ? Math.max(1_000, context.getRemainingTimeInMillis() - TIMEOUT_MARGIN_MS) : Infinity;
    const snapshotConfig = config.preMigrationSnapshot;
    const rds = opts.rds;
    if (snapshotConfig && !rds) throw new Error('SNAPSHOT_BEFORE_MIGRATION needs an RDS client');
    return {
      openPool: async () => {
        const secret = await readDbSecret(opts.secretsManager, config.secretArn);
        const host = config.host ?? secret.host;
        if (!host) throw new ConfigError('DB_HOST', 'is required when the secret has no host');
        const port = config.port ?? secret.port ?? 5432;
        const database = config.database ?? secret.dbname ?? 'crm';
        const pool = createPool({
          host,
          port,
          database,
          user: secret.username,
          // Per connection attempt: a rotated password is picked up by the next attempt.
          password: passwordFromSecret(opts.secretsManager, config.secretArn),
          tls: opts.tls ?? 'verify-full',
          connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
          max: 1,
          applicationName: 'crm-migrate',
        });
        // An idle connection dropped by the server must not crash the function; the runner's own
        // queries report their errors.
        pool.on('error', (err) => logger.warn('idle database connection closed', { error: errorMessage(err) }));
        return { pool, target: `${database} at ${host}:${port}` };
      },
      migrations,
      logger,
      runner: {
        lockTimeoutMs: config.lockTimeoutMs,
        statementTimeoutMs: Math.min(config.statementTimeoutMs, budget),
        advisoryLockWaitMs: Math.min(DEFAULT_ADVISORY_WAIT_MS, budget),
        connectAttempts: opts.connectAttempts ?? 4,
        connectRetryDelayMs: opts.connectRetryDelayMs ?? 2_000,
      },
      preMigrationSnapshot:
        snapshotConfig && rds
          ? {
              start: (from, to) =>
                startPreMigrationSnapshot(rds, snapshotConfig, from, to, (opts.now ?? (() => new Date()))()),
              retry: (id, from, to) => createPreMigrationSnapshot(rds, snapshotConfig, id, from, to),
              state: (id, stateOpts) => preMigrationSnapshotState(rds, id, stateOpts),
            }
          : undefined,
    };
  }

  return { onEvent, isComplete };
}

// Module scope: one client per container. Short timeouts so a missing VPC endpoint fails fast.
const secretsManager = new SecretsManagerClient({
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 },
});

const handlers = createHandlers({
  env: process.env,
  secretsManager,
  // Only called with SNAPSHOT_BEFORE_MIGRATION; reaches RDS through the VPC endpoint.
  rds: new RDSClient({ maxAttempts: 5 }),
});

export const handler: (
  event: CloudFormationCustomResourceEvent,
  context?: Context,
) => Promise<SchemaMigrationResponse> = handlers.onEvent;

/** The Provider framework's isComplete: waits for the pre-migration snapshot, then migrates. */
export const isComplete = handlers.isComplete;
