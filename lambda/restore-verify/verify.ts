/**
 * The verify step: connect to the restored instance (TLS, credentials per attempt), run
 * `checkDatabase`, publish the report to SNS and to metrics. A failed check is a *result*
 * (`ok: false`, published, and the state machine's Choice fails the execution); an unreachable
 * database is an *error* (DatabaseUnavailableError), which the state machine retries.
 *
 * Credentials: a restored instance keeps the master password it had at backup time, so after a
 * secret rotation the current secret no longer opens it. Verify logs in with AWSCURRENT and, on a
 * password authentication failure (SQLSTATE 28P01), with AWSPREVIOUS, and reports which it used.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PoolClient } from 'pg';
import { z } from 'zod';
import type { Migration } from '../migrate/migrations';
import { connectWithRetry } from '../migrate/runner';
import type { SecretStage } from '../shared/db-secret';
import { errorMessage, ValidationError } from '../shared/errors';
import type { MetricSink } from '../shared/metrics';
import { type CheckResult, checkDatabase, type SchemaResult } from './checks';

export const VerifyInput = z.looseObject({
  targetInstanceId: z.string().min(1),
  sourceInstanceId: z.string().optional(),
  restoredFrom: z.string().optional(),
  restoreStartedAt: z.iso.datetime({ offset: true }),
  requestedBy: z.string().optional(),
  drill: z.boolean().default(false),
  /** From the status step; either here or under `status.endpoint`. */
  endpoint: z.object({ address: z.string().min(1), port: z.number().int().positive() }).optional(),
  status: z
    .looseObject({ endpoint: z.object({ address: z.string().min(1), port: z.number().int().positive() }).optional() })
    .optional(),
});
export type VerifyInput = z.infer<typeof VerifyInput>;

export function parseVerifyInput(raw: unknown): VerifyInput & { endpoint: { address: string; port: number } } {
  const parsed = VerifyInput.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(issue.path.map(String).join('.') || 'input', issue.message);
  }
  const endpoint = parsed.data.endpoint ?? parsed.data.status?.endpoint;
  if (!endpoint)
    throw new ValidationError('endpoint', 'is required (pass the status step output as `status` or `endpoint`)');
  return { ...parsed.data, endpoint };
}

export interface VerificationReport {
  readonly ok: boolean;
  readonly targetInstanceId: string;
  readonly sourceInstanceId?: string;
  readonly restoredFrom?: string;
  readonly requestedBy?: string;
  readonly drill: boolean;
  readonly endpoint: string;
  /**
   * The master secret version that opened the restored database: AWSPREVIOUS means the backup
   * predates the last rotation (the instance must get the current password before it serves).
   */
  readonly credential: SecretStage;
  readonly restoreStartedAt: string;
  readonly verifiedAt: string;
  /** Restore start → verified: the measured RTO. */
  readonly restoreDurationSeconds: number;
  readonly schema: SchemaResult;
  readonly tables: readonly { readonly table: string; readonly rows: number }[];
  readonly checks: readonly CheckResult[];
  /** One line per failed check; empty when ok. */
  readonly failures: readonly string[];
}

/** Hands out connections to the restored database (a Pool from lambda/shared/db.ts in Lambda). */
export interface RestoredDbPool {
  connect(): Promise<PoolClient>;
  end(): Promise<void>;
}

export interface VerifyDeps {
  /** Builds a pool for the restored instance's endpoint that logs in with that version of the master secret. */
  readonly pool: (endpoint: { address: string; port: number }, credential: SecretStage) => Promise<RestoredDbPool>;
  readonly migrations: readonly Migration[];
  readonly publish: (subject: string, message: string) => Promise<unknown>;
  readonly metrics: MetricSink;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  readonly now: () => Date;
  /** @default 3 */
  readonly connectAttempts?: number;
  /** @default 5_000 */
  readonly connectRetryDelayMs?: number;
}

export async function verifyRestore(
  input: ReturnType<typeof parseVerifyInput>,
  deps: VerifyDeps,
): Promise<VerificationReport> {
  const target = `${input.targetInstanceId} (${input.endpoint.address}:${input.endpoint.port})`;
  const pools = new Map<SecretStage, RestoredDbPool>();
  // The current secret is read up front: a missing or malformed secret fails as itself, not as a connect error.
  pools.set('AWSCURRENT', await deps.pool(input.endpoint, 'AWSCURRENT'));
  const poolFor = async (stage: SecretStage) => {
    let p = pools.get(stage);
    if (!p) {
      p = await deps.pool(input.endpoint, stage);
      pools.set(stage, p);
    }
    return p;
  };
  let credential: SecretStage = 'AWSCURRENT';
  // One connection attempt: the current secret, then, only if the server refused its password, the previous one.
  const rotationAware = {
    connect: async (): Promise<PoolClient> => {
      try {
        const client = await (await poolFor('AWSCURRENT')).connect();
        credential = 'AWSCURRENT';
        return client;
      } catch (err) {
        if (pgCode(err) !== PASSWORD_AUTHENTICATION_FAILED) throw err;
        let previous: RestoredDbPool;
        try {
          previous = await poolFor('AWSPREVIOUS');
        } catch {
          throw err; // no previous version (never rotated): the current password's refusal is the answer
        }
        const client = await previous.connect().catch((err2: unknown) => {
          if (pgCode(err2) !== PASSWORD_AUTHENTICATION_FAILED) throw err2;
          throw Object.assign(
            new Error(`the current and the previous master password were both refused: ${errorMessage(err2)}`),
            { code: PASSWORD_AUTHENTICATION_FAILED },
          );
        });
        credential = 'AWSPREVIOUS';
        deps.logger.warn('restored instance accepted only the previous master password (backup predates a rotation)', {
          targetInstanceId: input.targetInstanceId,
        });
        return client;
      }
    },
  };
  let db: PoolClient | undefined;
  let report: VerificationReport;
  try {
    db = await connectWithRetry(rotationAware, {
      attempts: deps.connectAttempts ?? 3,
      retryDelayMs: deps.connectRetryDelayMs ?? 5_000,
      target,
    });
    const result = await checkDatabase(db, deps.migrations);
    const verifiedAt = deps.now();
    const failures = [
      ...(result.schema.ok ? [] : [`${result.schema.name}: ${result.schema.detail}`]),
      ...result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
    ];
    report = {
      ok: result.ok,
      targetInstanceId: input.targetInstanceId,
      sourceInstanceId: input.sourceInstanceId,
      restoredFrom: input.restoredFrom,
      requestedBy: input.requestedBy,
      drill: input.drill,
      endpoint: `${input.endpoint.address}:${input.endpoint.port}`,
      credential,
      restoreStartedAt: input.restoreStartedAt,
      verifiedAt: verifiedAt.toISOString(),
      restoreDurationSeconds: Math.max(
        0,
        Math.round((verifiedAt.getTime() - Date.parse(input.restoreStartedAt)) / 1000),
      ),
      schema: result.schema,
      tables: result.tables,
      checks: result.checks,
      failures,
    };
  } finally {
    db?.release();
    await Promise.all([...pools.values()].map((p) => p.end().catch(() => undefined)));
  }

  deps.metrics.addMetric('RestoreVerified', 'Count', report.ok ? 1 : 0);
  deps.metrics.addMetric('RestoreVerificationFailed', 'Count', report.ok ? 0 : 1);
  if (report.ok) deps.metrics.addMetric('RestoreDurationSeconds', 'Seconds', report.restoreDurationSeconds);
  await deps.publish(subjectOf(report), formatReport(report));
  deps.logger.info('restore verification finished', {
    ok: report.ok,
    targetInstanceId: report.targetInstanceId,
    credential: report.credential,
    failures: report.failures,
  });
  return report;
}

/** SQLSTATE invalid_password: the server refused the password (not a network or TLS problem). */
const PASSWORD_AUTHENTICATION_FAILED = '28P01';

function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** SNS subjects are at most 100 ASCII characters. */
export function subjectOf(r: VerificationReport): string {
  const kind = r.drill ? 'restore drill' : 'restore';
  return `CRM ${kind} ${r.ok ? 'verified' : 'FAILED verification'}: ${r.targetInstanceId}`.slice(0, 100);
}

/** Plain text for e-mail subscribers, then the JSON report for machines. */
export function formatReport(r: VerificationReport): string {
  const lines = [
    `${r.ok ? 'PASSED' : 'FAILED'}: ${r.targetInstanceId} restored from ${r.restoredFrom ?? 'unknown'}${r.drill ? ' (drill)' : ''}`,
    `Requested by ${r.requestedBy ?? 'unknown'}; restore started ${r.restoreStartedAt}, verified ${r.verifiedAt} (${r.restoreDurationSeconds} s).`,
    `Endpoint: ${r.endpoint}`,
    r.credential === 'AWSPREVIOUS'
      ? 'Logged in with the PREVIOUS master secret (AWSPREVIOUS): the backup predates the last rotation. Before cutover, set the master password to the current secret (aws rds modify-db-instance --master-user-password).'
      : 'Logged in with the current master secret (AWSCURRENT).',
    '',
    `Schema: ${r.schema.ok ? 'OK' : 'FAIL'} — ${r.schema.detail}`,
    ...r.checks.map((c) => `${c.ok ? 'OK  ' : 'FAIL'} ${c.name} — ${c.detail}`),
    '',
    'Rows per table:',
    ...r.tables.map((t) => `  ${t.table.padEnd(32)} ${t.rows}`),
    '',
    r.ok
      ? 'Next: follow docs/runbooks/restore.md "Cutover" to bring the data or the instance into service.'
      : 'Next: see docs/runbooks/restore.md "When verification fails". The instance was left running for inspection.',
    '',
    JSON.stringify(r),
  ];
  return lines.join('\n');
}
