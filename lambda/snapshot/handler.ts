/**
 * Scheduled snapshot function (EventBridge Scheduler → Lambda).
 *
 * Input: `{ "scheduledTime"?: ISO-8601, "schedule"?: string, "prune"?: boolean }`. The schedule's
 * target input should be `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`, so a retried
 * invocation names the same slot; without it the current time is used (e.g. `ops snapshot now`
 * passes `{ "schedule": "manual" }`).
 * Output: `{ snapshotId, outcome: "created" | "already-exists", schemaVersion?, pruned: string[],
 * manualSnapshotCount }`. Errors fail the invocation; the Scheduler invokes asynchronously, so it is
 * Lambda's asynchronous retry (retryAttempts, maximum event age, then the DLQ) that runs it again,
 * with the same `scheduledTime`, so a retry never takes a second snapshot of the slot.
 *
 * A busy instance (backup window, modification: CreateDBSnapshot answers InvalidDBInstanceState, or
 * another snapshot still being created) is polled every 30 s for up to SNAPSHOT_MAX_WAIT_SECONDS
 * (capped by the time the invocation has left); then the run fails with SnapshotDeferredError and
 * metric `SnapshotDeferred`, and the retry tries again.
 *
 * Environment:
 * - DB_INSTANCE_ID      identifier of the live instance (required)
 * - SNAPSHOT_PREFIX     prefix of snapshot names, `<prefix>-YYYYMMDD-HHMM` (required, max 241 chars)
 * - ENVIRONMENT         value of the `environment` tag, e.g. `prod` (required)
 * - SCHEDULE_NAME       value of the `schedule` tag, e.g. `crm-prod-daily` (required)
 * - RETENTION_DAYS      managed snapshots older than this are pruned (default 7, min 1)
 * - MIN_KEEP            newest available managed snapshots always kept (default 3, min 0)
 * - METRICS_NAMESPACE   CloudWatch namespace (required); dimension service=crm-snapshot
 * - DB_SECRET_ARN       secret with username/password used to read the schema version (optional:
 *                       without it the schema-version tag is omitted)
 * - DB_HOST, DB_PORT, DB_NAME  where to read the schema version (DB_HOST defaults to the secret's
 *                       host, DB_PORT to 5432, DB_NAME to `crm`)
 * - DB_CA_BUNDLE        RDS CA bundle path (default: the Lambda runtime's)
 * - SNAPSHOT_MAX_WAIT_SECONDS  how long one run waits for a busy instance (default 600)
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import type { Pool } from 'pg';
import { z } from 'zod';
import { createPool } from '../shared/db';
import { passwordFromSecret, readDbSecret } from '../shared/db-secret';
import { intVar, parseEnv, requiredString } from '../shared/env';
import { ValidationError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { createMetrics } from '../shared/metrics';
import { identifierProblem, MAX_SNAPSHOT_ID_LENGTH, TIME_SUFFIX_LENGTH } from './naming';
import { createRdsClient } from './rds';
import { type SchemaVersionLookup, schemaVersionFromPool } from './schema-version';
import { SnapshotDeferredError, type SnapshotResult, takeScheduledSnapshot } from './snapshot';

const Env = z.object({
  DB_INSTANCE_ID: requiredString,
  SNAPSHOT_PREFIX: requiredString.refine(
    (p) => identifierProblem(p, MAX_SNAPSHOT_ID_LENGTH - TIME_SUFFIX_LENGTH) === undefined,
    'must be a valid RDS snapshot identifier prefix (letter first; letters, digits, single hyphens)',
  ),
  ENVIRONMENT: requiredString,
  SCHEDULE_NAME: requiredString,
  RETENTION_DAYS: intVar(7, 1),
  MIN_KEEP: intVar(3, 0),
  METRICS_NAMESPACE: requiredString,
  DB_SECRET_ARN: z.string().optional(),
  DB_HOST: z.string().optional(),
  DB_PORT: intVar(5432, 1),
  DB_NAME: z.string().default('crm'),
  SNAPSHOT_MAX_WAIT_SECONDS: intVar(600, 0),
});

/** Polls of a busy instance. */
const BUSY_POLL_MS = 30_000;
/** Kept back from the invocation's remaining time for pruning and the quota count after the wait. */
const AFTER_WAIT_MARGIN_MS = 60_000;

const env = parseEnv(Env);
const logger = createLogger('crm-snapshot');
const metrics = createMetrics(env.METRICS_NAMESPACE, 'crm-snapshot');
const rds = createRdsClient();
const secrets = new SecretsManagerClient({});
let pool: Pool | undefined;

const schemaVersion: SchemaVersionLookup | undefined = env.DB_SECRET_ARN
  ? async () => {
      const secretArn = env.DB_SECRET_ARN!;
      if (!pool) {
        const secret = await readDbSecret(secrets, secretArn);
        const host = env.DB_HOST ?? secret.host;
        if (!host) throw new Error('no DB_HOST and no host in the secret');
        pool = createPool({
          host,
          port: env.DB_PORT,
          database: env.DB_NAME,
          user: secret.username,
          password: passwordFromSecret(secrets, secretArn),
          max: 1,
          connectTimeoutMs: 5_000,
          statementTimeoutMs: 5_000,
          applicationName: 'crm-snapshot',
        });
      }
      return schemaVersionFromPool(pool)();
    }
  : undefined;

export const Input = z.object({
  scheduledTime: z.iso.datetime({ offset: true }).optional(),
  schedule: z.string().min(1).max(256).optional(),
  prune: z.boolean().optional(),
});

export async function handler(
  event: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<SnapshotResult> {
  try {
    const parsed = Input.safeParse(event ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ValidationError(issue.path.map(String).join('.') || 'event', issue.message);
    }
    const scheduledTime = parsed.data.scheduledTime ? new Date(parsed.data.scheduledTime) : new Date();
    const left = context ? context.getRemainingTimeInMillis() - AFTER_WAIT_MARGIN_MS : Infinity;
    const maxWaitMs = Math.max(0, Math.min(env.SNAPSHOT_MAX_WAIT_SECONDS * 1000, left));
    const result = await takeScheduledSnapshot(
      {
        instanceId: env.DB_INSTANCE_ID,
        prefix: env.SNAPSHOT_PREFIX,
        environment: env.ENVIRONMENT,
        scheduleName: env.SCHEDULE_NAME,
        retention: { retentionDays: env.RETENTION_DAYS, minKeep: env.MIN_KEEP },
      },
      { rds, metrics, logger, schemaVersion, now: () => new Date() },
      {
        scheduledTime,
        prune: parsed.data.prune,
        scheduleTag: parsed.data.schedule,
        waitWhileBusy: { maxWaitMs, pollIntervalMs: BUSY_POLL_MS },
      },
    );
    logger.info('snapshot run finished', { ...result });
    return result;
  } catch (err) {
    // A deferral is retried (and counted as SnapshotDeferred); the DLQ and the 26-hour alarms catch a slot that stays missed.
    if (!(err instanceof SnapshotDeferredError)) metrics.addMetric('SnapshotFailed', 'Count', 1);
    logger.error('snapshot run failed', err as Error);
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}
