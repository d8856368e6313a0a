/**
 * Verify step of the restore verification workflow (Step Functions → Lambda, in the VPC).
 *
 * Input: the VerificationInput the restore function started the workflow with, plus the status
 * step's output: `{ targetInstanceId, sourceInstanceId?, restoredFrom?, restoreStartedAt (ISO),
 *   requestedBy?, drill?, endpoint?: { address, port } | status?: { endpoint: { address, port } } }`.
 * Output: VerificationReport `{ ok, targetInstanceId, credential, restoreDurationSeconds, schema, tables,
 *   checks, failures, ... }` — the state machine's Choice fails the execution when `ok` is false.
 * Errors: DatabaseUnavailableError (retry it in the state machine), ValidationError (bad input).
 *
 * Environment:
 * - DB_SECRET_ARN       master secret of the live instance; read per connection attempt. The
 *                       restored instance has the password of backup time: AWSCURRENT is tried
 *                       first, AWSPREVIOUS when the server refuses it (28P01) (required)
 * - DB_NAME             database to verify (default `crm`)
 * - VERIFY_TOPIC_ARN    SNS topic for the report (required)
 * - METRICS_NAMESPACE   CloudWatch namespace (required); dimension service=crm-restore-verify
 * - MIGRATIONS_DIR      bundled migration files (default: `migrations/` next to the bundle, as
 *                       for the migrate function)
 * - DB_CA_BUNDLE        RDS CA bundle path (default: the Lambda runtime's)
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { z } from 'zod';
import { loadMigrations, MIGRATIONS_DIR } from '../migrate/migrations';
import { createPool } from '../shared/db';
import { passwordFromSecret, readDbSecret } from '../shared/db-secret';
import { parseEnv, requiredString } from '../shared/env';
import { createLogger } from '../shared/logger';
import { createMetrics } from '../shared/metrics';
import { parseVerifyInput, type VerificationReport, verifyRestore } from './verify';

const env = parseEnv(
  z.object({
    DB_SECRET_ARN: requiredString,
    DB_NAME: z.string().min(1).default('crm'),
    VERIFY_TOPIC_ARN: requiredString,
    METRICS_NAMESPACE: requiredString,
    MIGRATIONS_DIR: z.string().min(1).optional(),
  }),
);
const logger = createLogger('crm-restore-verify');
const metrics = createMetrics(env.METRICS_NAMESPACE, 'crm-restore-verify');
const secrets = new SecretsManagerClient({});
const sns = new SNSClient({});
// Loaded (and validated) at cold start: a broken bundle fails before touching any database.
const migrations = loadMigrations(env.MIGRATIONS_DIR ?? MIGRATIONS_DIR);

export async function handler(event: unknown): Promise<VerificationReport> {
  try {
    const input = parseVerifyInput(event);
    return await verifyRestore(input, {
      migrations,
      metrics,
      logger,
      now: () => new Date(),
      publish: (Subject, Message) => sns.send(new PublishCommand({ TopicArn: env.VERIFY_TOPIC_ARN, Subject, Message })),
      pool: async ({ address, port }, stage) => {
        const secret = await readDbSecret(secrets, env.DB_SECRET_ARN, stage);
        return createPool({
          host: address,
          port,
          database: env.DB_NAME,
          user: secret.username,
          password: passwordFromSecret(secrets, env.DB_SECRET_ARN, stage),
          max: 1,
          statementTimeoutMs: 120_000,
          applicationName: 'crm-restore-verify',
        });
      },
    });
  } catch (err) {
    logger.error('restore verification errored', err as Error);
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}
