/**
 * Weekly database advisor (EventBridge Scheduler). Thin: reads configuration, connects as the
 * monitoring role with an IAM auth token, runs `runAdvisor`, then
 *   1. publishes key figures as CloudWatch metrics (Powertools Metrics → EMF log lines),
 *   2. writes the report to S3 as JSON and text, SSE-KMS,
 *   3. publishes a short summary (counts, key figures, top 5 findings, S3 links) to SNS.
 * The event payload is ignored. Any failure (database unreachable, S3, SNS) fails the
 * invocation so the function's error alarm fires; nothing is retried here.
 *
 * Environment:
 *   DB_HOST              required. The DB instance endpoint (not the proxy: the advisor reads
 *                        instance-wide statistics and must see every session).
 *   DB_PORT              @default 5432
 *   DB_NAME              @default 'crm'
 *   DB_USER              @default 'crm_monitor' (pg_monitor, rds_iam; see migration 0001)
 *   REPORT_BUCKET        required. Bucket for reports/<ENVIRONMENT>/<timestamp>.json|.txt
 *   REPORT_KMS_KEY_ARN   KMS key for SSE-KMS. @default the bucket's default key (still aws:kms)
 *   REPORT_TOPIC_ARN     required. SNS topic for the summary.
 *   ENVIRONMENT          required. e.g. dev, prod: the S3 prefix and the Environment dimension.
 *   INSTANCE_CLASS       e.g. db.m7g.large or m7g.large: memory for the parameter advice.
 *   INSTANCE_MEMORY_GIB  overrides the memory derived from INSTANCE_CLASS.
 *   METRICS_NAMESPACE    @default 'CrmPlatform/DatabaseAdvisor' (POWERTOOLS_METRICS_NAMESPACE also works)
 *   STATEMENT_TIMEOUT_MS statement_timeout of the advisor's session. @default 60000
 *   AWS_REGION           set by Lambda; the region the IAM auth token is signed for.
 *   DB_CA_BUNDLE         CA bundle for TLS verify-full (lambda/shared/db.ts).
 *
 * IAM: rds-db:connect on arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<DB_USER>;
 * s3:PutObject on arn:aws:s3:::<REPORT_BUCKET>/reports/<ENVIRONMENT>/*; kms:GenerateDataKey (and
 * kms:Decrypt for multipart) on the bucket's key; sns:Publish on REPORT_TOPIC_ARN (plus
 * kms:GenerateDataKey/kms:Decrypt on the topic's key). Metrics need no permission (EMF in logs).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { Signer } from '@aws-sdk/rds-signer';
import type { Pool } from 'pg';
import { createPool, type DbConnectionOptions } from '../shared/db';
import { ConfigError, DatabaseUnavailableError, errorMessage } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { runAdvisor } from './advisor';
import { instanceClassMemoryGiB } from './instance-classes';
import { reportMetrics } from './metrics';
import { renderReport, renderSummary } from './render';
import type { AdvisorReport, Queryable } from './types';

export interface AdvisorHandlerConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly region?: string;
  readonly bucket: string;
  readonly kmsKeyArn?: string;
  readonly topicArn: string;
  readonly environment: string;
  readonly instanceClass?: string;
  readonly memoryGiB?: number;
  readonly metricsNamespace: string;
  readonly statementTimeoutMs: number;
}

function required(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(name, `is required (${what})`);
  return v;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number | undefined, integer: boolean) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new ConfigError(name, `must be a positive ${integer ? 'integer' : 'number'} (got '${raw}')`);
  }
  return v;
}

/** Reads and validates the environment; errors name the variable. */
export function configFromEnv(env: NodeJS.ProcessEnv): AdvisorHandlerConfig {
  const environment = required(env, 'ENVIRONMENT', 'e.g. dev or prod');
  if (!/^[a-z0-9-]+$/.test(environment))
    throw new ConfigError('ENVIRONMENT', `must match ^[a-z0-9-]+$ (got '${environment}')`);
  const instanceClass = env.INSTANCE_CLASS || undefined;
  const memoryGiB = positive(env, 'INSTANCE_MEMORY_GIB', undefined, false);
  if (instanceClass && memoryGiB === undefined && instanceClassMemoryGiB(instanceClass) === undefined) {
    throw new ConfigError('INSTANCE_CLASS', `unknown instance class '${instanceClass}': set INSTANCE_MEMORY_GIB`);
  }
  return {
    host: required(env, 'DB_HOST', 'the DB instance endpoint'),
    port: positive(env, 'DB_PORT', 5432, true) as number,
    database: env.DB_NAME || 'crm',
    user: env.DB_USER || 'crm_monitor',
    region: env.AWS_REGION || undefined,
    bucket: required(env, 'REPORT_BUCKET', 'the report bucket name'),
    kmsKeyArn: env.REPORT_KMS_KEY_ARN || undefined,
    topicArn: required(env, 'REPORT_TOPIC_ARN', 'the SNS topic for the summary'),
    environment,
    instanceClass,
    memoryGiB,
    metricsNamespace: env.METRICS_NAMESPACE || env.POWERTOOLS_METRICS_NAMESPACE || 'CrmPlatform/DatabaseAdvisor',
    statementTimeoutMs: positive(env, 'STATEMENT_TIMEOUT_MS', 60_000, true) as number,
  };
}

/** One database session for one run; `release` ends it (a weekly run never reuses a socket). */
export interface AdvisorSession {
  readonly client: Queryable;
  release(): void | Promise<void>;
}

export interface AdvisorHandlerDeps {
  readonly s3: Pick<S3Client, 'send'>;
  readonly sns: Pick<SNSClient, 'send'>;
  readonly metrics: Pick<Metrics, 'addMetric' | 'addDimension' | 'publishStoredMetrics'>;
  readonly logger: Pick<ReturnType<typeof createLogger>, 'info' | 'error'>;
  readonly connect: (config: AdvisorHandlerConfig) => Promise<AdvisorSession>;
  readonly now?: () => Date;
}

export interface AdvisorRunResult {
  readonly generatedAt: string;
  readonly summary: AdvisorReport['summary'];
  readonly jsonKey: string;
  readonly textKey: string;
  readonly messageId?: string;
}

/** `reports/<env>/2026-11-28T060000Z`: ISO 8601 basic format, sortable, no colons in keys. */
export function reportKeyBase(environment: string, generatedAt: string): string {
  const stamp = generatedAt
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
    .replace(/^(\d{4})(\d{2})(\d{2})/, '$1-$2-$3');
  return `reports/${environment}/${stamp}`;
}

/** SNS subjects: at most 100 printable ASCII characters, no line breaks. */
function subjectOf(report: AdvisorReport, environment: string): string {
  const s = report.summary;
  return `[crm ${environment}] DB advisor: ${s.high} high, ${s.medium} medium, ${s.low} low`
    .replace(/[^\x20-\x7e]/g, '')
    .slice(0, 100);
}

export async function runScheduledAdvisor(
  config: AdvisorHandlerConfig,
  deps: AdvisorHandlerDeps,
): Promise<AdvisorRunResult> {
  let session: AdvisorSession;
  try {
    session = await deps.connect(config);
  } catch (err) {
    throw new DatabaseUnavailableError(
      `cannot connect to ${config.database} at ${config.host}:${config.port} as ${config.user}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  let report: AdvisorReport;
  try {
    report = await runAdvisor(session.client, {
      instanceClass: config.instanceClass,
      memoryGiB: config.memoryGiB,
      now: deps.now,
      onCheckError: (check, err) => deps.logger.error('advisor check failed', { check, error: errorMessage(err) }),
    });
  } finally {
    await session.release();
  }

  deps.metrics.addDimension('Environment', config.environment);
  for (const m of reportMetrics(report)) deps.metrics.addMetric(m.name, MetricUnit[m.unit], m.value);
  deps.metrics.publishStoredMetrics();

  const base = reportKeyBase(config.environment, report.generatedAt);
  const sse = {
    ServerSideEncryption: 'aws:kms' as const,
    ...(config.kmsKeyArn ? { SSEKMSKeyId: config.kmsKeyArn } : {}),
    BucketKeyEnabled: true,
  };
  const jsonKey = `${base}.json`;
  const textKey = `${base}.txt`;
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: config.bucket,
      Key: jsonKey,
      Body: JSON.stringify(report, null, 2),
      ContentType: 'application/json',
      ...sse,
    }),
  );
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: config.bucket,
      Key: textKey,
      Body: renderReport(report),
      ContentType: 'text/plain; charset=utf-8',
      ...sse,
    }),
  );
  const published = await deps.sns.send(
    new PublishCommand({
      TopicArn: config.topicArn,
      Subject: subjectOf(report, config.environment),
      Message: renderSummary(report, {
        environment: config.environment,
        links: [`s3://${config.bucket}/${textKey}`, `s3://${config.bucket}/${jsonKey}`],
      }),
    }),
  );
  deps.logger.info('advisor report published', {
    summary: report.summary,
    jsonKey,
    textKey,
    messageId: published.MessageId,
  });
  return { generatedAt: report.generatedAt, summary: report.summary, jsonKey, textKey, messageId: published.MessageId };
}

// Module scope: built once per execution environment, reused by warm invocations.
const logger = createLogger('database-advisor');
let pool: Pool | undefined;

/** Connection options for DB_USER with an IAM auth token signed per connection attempt, over TLS verify-full. */
export function iamConnectionOptions(
  config: AdvisorHandlerConfig,
  signer: Pick<Signer, 'getAuthToken'>,
): DbConnectionOptions {
  return {
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: () => signer.getAuthToken(),
    tls: 'verify-full',
    max: 1,
    applicationName: 'crm-advisor',
    statementTimeoutMs: config.statementTimeoutMs,
  };
}

/** IAM-authenticated TLS session as DB_USER. */
async function connectWithIamToken(config: AdvisorHandlerConfig): Promise<AdvisorSession> {
  if (!pool) {
    const signer = new Signer({
      hostname: config.host,
      port: config.port,
      username: config.user,
      ...(config.region ? { region: config.region } : {}),
    });
    pool = createPool(iamConnectionOptions(config, signer));
  }
  const client = await pool.connect();
  // Destroy rather than pool the connection: the next run is a week away.
  return { client, release: () => client.release(true) };
}

/** Builds a handler; tests pass their own deps and environment. Config is read on the first invocation. */
export function createHandler(
  overrides: Partial<AdvisorHandlerDeps> = {},
  env: NodeJS.ProcessEnv = process.env,
): (event?: unknown) => Promise<AdvisorRunResult> {
  let built: { config: AdvisorHandlerConfig; deps: AdvisorHandlerDeps } | undefined;
  return async () => {
    if (!built) {
      const config = configFromEnv(env);
      built = {
        config,
        deps: {
          s3: overrides.s3 ?? new S3Client({}),
          sns: overrides.sns ?? new SNSClient({}),
          metrics:
            overrides.metrics ?? new Metrics({ namespace: config.metricsNamespace, serviceName: 'database-advisor' }),
          logger: overrides.logger ?? logger,
          connect: overrides.connect ?? connectWithIamToken,
          now: overrides.now,
        },
      };
    }
    try {
      return await runScheduledAdvisor(built.config, built.deps);
    } catch (err) {
      built.deps.logger.error('advisor run failed', { error: errorMessage(err) });
      throw err;
    }
  };
}

export const handler = createHandler();
