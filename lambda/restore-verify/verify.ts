/**
 * The verify step: connect to the restored instance (TLS, credentials per attempt), run
 * `checkDatabase`, publish the report to SNS and to metrics. A failed check is a *result*
 * (`ok: false`, published, and the state machine's Choice fails the execution); an unreachable
 * database is an *error* (DatabaseUnavailableError), which the state machine retries.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PoolClient } from 'pg';
import { z } from 'zod';
import type { Migration } from '../migrate/migrations';
import { connectWithRetry } from '../migrate/runner';
import { ValidationError } from '../shared/errors';
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
  /** Builds a pool for the restored instance's endpoint. */
  readonly pool: (endpoint: { address: string; port: number }) => Promise<RestoredDbPool>;
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
  const pool = await deps.pool(input.endpoint);
  let db: PoolClient | undefined;
  let report: VerificationReport;
  try {
    db = await connectWithRetry(pool, {
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
    await pool.end().catch(() => undefined);
  }

  deps.metrics.addMetric('RestoreVerified', 'Count', report.ok ? 1 : 0);
  deps.metrics.addMetric('RestoreVerificationFailed', 'Count', report.ok ? 0 : 1);
  if (report.ok) deps.metrics.addMetric('RestoreDurationSeconds', 'Seconds', report.restoreDurationSeconds);
  await deps.publish(subjectOf(report), formatReport(report));
  deps.logger.info('restore verification finished', {
    ok: report.ok,
    targetInstanceId: report.targetInstanceId,
    failures: report.failures,
  });
  return report;
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
