/**
 * Operator CLI for backups and restores, with the caller's AWS credentials:
 *
 *   npm run ops -- snapshots list
 *   npm run ops -- snapshot now
 *   npm run ops -- restore --snapshot <id> | --time <iso|latest> [--target <id>] [--dry-run] [--requested-by <who>]
 *   npm run ops -- restore status <executionArn>
 *
 * Which environment: `CRM_ENV` (e.g. `prod`) and the region from `AWS_REGION`. Names follow the
 * deployment's naming convention, each overridable by an environment variable:
 *
 *   DB instance              crm-<env>                    CRM_DB_INSTANCE_ID
 *   snapshot prefix          crm-<env>                    CRM_SNAPSHOT_PREFIX
 *   verification workflow    crm-<env>-restore-verify     CRM_VERIFY_STATE_MACHINE_ARN (a full ARN;
 *                            (state machine name, looked up with states:ListStateMachines)
 *
 * `snapshot now` and `restore` run the same cores as the Lambda functions (lambda/snapshot,
 * lambda/restore) in this process, so the validation, the plan and the RDS calls are identical;
 * the caller needs the IAM actions those functions have. `snapshot now` takes a managed snapshot
 * tagged schedule=manual without pruning (the schema-version tag needs database access, so it is
 * left to the scheduled runs).
 *
 * Exit codes: 0 done, 1 failed (AWS refused, validation failed, a watched execution failed),
 * 2 bad command line. Failures print one line to stderr.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { DescribeExecutionCommand, paginateListStateMachines, SFNClient } from '@aws-sdk/client-sfn';
import { parseRestoreRequest, type RestoreRequest } from '../lambda/restore/input';
import { type RestoreResult, runRestore } from '../lambda/restore/restore';
import type { VerificationReport } from '../lambda/restore-verify/verify';
import { errorMessage, ValidationError } from '../lambda/shared/errors';
import { createRdsClient, listSnapshots } from '../lambda/snapshot/rds';
import { takeScheduledSnapshot } from '../lambda/snapshot/snapshot';
import { isManaged, TAG_SCHEMA_VERSION, tagMap } from '../lambda/snapshot/tags';

export const USAGE = `usage:
  npm run ops -- snapshots list
  npm run ops -- snapshot now
  npm run ops -- restore --snapshot <id> | --time <iso|latest> [--target <id>] [--dry-run] [--requested-by <who>]
  npm run ops -- restore status <executionArn>

environment: CRM_ENV (e.g. prod), AWS_REGION, AWS credentials; optional overrides
CRM_DB_INSTANCE_ID, CRM_SNAPSHOT_PREFIX, CRM_VERIFY_STATE_MACHINE_ARN`;

/** A bad command line (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'snapshots-list' }
  | { readonly kind: 'snapshot-now' }
  | { readonly kind: 'restore'; readonly request: RestoreRequest }
  | { readonly kind: 'restore-status'; readonly executionArn: string };

/** Restore request fields → the flags that set them, so validation errors name what the operator typed. */
const FLAG_OF_FIELD: Record<string, string> = {
  snapshotId: '--snapshot',
  pointInTime: '--time',
  targetInstanceId: '--target',
  dryRun: '--dry-run',
  requestedBy: '--requested-by',
};

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/;

/** Runs node's parseArgs, turning its errors into a UsageError with a short message. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    // node's messages are long and mention parseArgs; keep the useful first sentence.
    const message = String((err as { message?: unknown })?.message ?? err).split('. ')[0]!;
    throw new UsageError(message.charAt(0).toLowerCase() + message.slice(1));
  }
}

/** The operator name for the requested-by tag: letters, digits and _ . : / = + - @ only. */
export function defaultRequester(): string {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (some containers): keep 'unknown'
  }
  return `cli:${name}`.replace(/[^\p{L}\p{N}_.:/=+\-@]/gu, '_');
}

export function parseCommand(argv: readonly string[], requester: () => string = defaultRequester): Command {
  const [noun, verb, ...rest] = argv;
  if (noun === undefined) throw new UsageError('missing command: snapshots list | snapshot now | restore ...');
  if (noun === 'help' || noun === '--help' || noun === '-h') return { kind: 'help' };

  if (noun === 'snapshots' || noun === 'snapshot') {
    const want = noun === 'snapshots' ? 'list' : 'now';
    if (verb !== want)
      throw new UsageError(`"${noun}" takes "${want}" (got ${verb === undefined ? 'nothing' : `"${verb}"`})`);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}" after "${noun} ${verb}"`);
    return { kind: noun === 'snapshots' ? 'snapshots-list' : 'snapshot-now' };
  }

  if (noun === 'restore') {
    if (verb === 'status') {
      const { positionals } = usage(() => parseArgs({ args: rest, options: {}, allowPositionals: true, strict: true }));
      if (positionals.length !== 1) throw new UsageError('"restore status" takes exactly one execution ARN');
      const executionArn = positionals[0]!;
      if (!EXECUTION_ARN.test(executionArn)) {
        throw new UsageError(
          `"${executionArn}" is not a Step Functions execution ARN (arn:aws:states:<region>:<account>:execution:<machine>:<name>)`,
        );
      }
      return { kind: 'restore-status', executionArn };
    }
    const { values, positionals } = usage(() =>
      parseArgs({
        args: argv.slice(1),
        options: {
          snapshot: { type: 'string' },
          time: { type: 'string' },
          target: { type: 'string' },
          'dry-run': { type: 'boolean' },
          'requested-by': { type: 'string' },
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (positionals.length > 0)
      throw new UsageError(`unexpected argument "${positionals[0]}" (did you mean "restore status <executionArn>"?)`);
    try {
      const request = parseRestoreRequest({
        snapshotId: values.snapshot,
        pointInTime: values.time,
        targetInstanceId: values.target,
        dryRun: values['dry-run'] === true,
        requestedBy: values['requested-by'] ?? requester(),
      });
      return { kind: 'restore', request };
    } catch (err) {
      if (err instanceof ValidationError) {
        const flag = FLAG_OF_FIELD[err.field] ?? err.field;
        const reason = err.message
          .slice(err.field.length + 2)
          .replace(/\bsnapshotId\b/g, '--snapshot')
          .replace(/\bpointInTime\b/g, '--time');
        throw new UsageError(`${flag}: ${reason}`);
      }
      throw err;
    }
  }
  throw new UsageError(`unknown command "${noun}"`);
}

export interface OpsConfig {
  readonly environment: string;
  readonly region: string;
  readonly instanceId: string;
  readonly snapshotPrefix: string;
  /** A full ARN, or undefined to look up `verifyStateMachineName`. */
  readonly verifyStateMachineArn?: string;
  readonly verifyStateMachineName: string;
}

export function resolveConfig(env: NodeJS.ProcessEnv): OpsConfig {
  const environment = env.CRM_ENV?.trim();
  if (!environment) throw new UsageError('CRM_ENV is not set (the environment to work on, e.g. CRM_ENV=prod)');
  if (!/^[a-z][a-z0-9-]*$/.test(environment))
    throw new UsageError(`CRM_ENV "${environment}" must be lower-case letters, digits and hyphens`);
  const region = (env.AWS_REGION ?? env.AWS_DEFAULT_REGION)?.trim();
  if (!region) throw new UsageError('AWS_REGION is not set (the region the environment is deployed in)');
  return {
    environment,
    region,
    instanceId: env.CRM_DB_INSTANCE_ID?.trim() || `crm-${environment}`,
    snapshotPrefix: env.CRM_SNAPSHOT_PREFIX?.trim() || `crm-${environment}`,
    verifyStateMachineArn: env.CRM_VERIFY_STATE_MACHINE_ARN?.trim() || undefined,
    verifyStateMachineName: `crm-${environment}-restore-verify`,
  };
}

/** Left-aligned columns separated by two spaces, with a header underline. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number | undefined)[])[],
): string {
  const cells = rows.map((r) => headers.map((_, i) => String(r[i] ?? '')));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

const utc = (d: Date | undefined) => (d ? `${d.toISOString().slice(0, 16).replace('T', ' ')}Z` : '');

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

async function findStateMachine(sfn: SFNClient, config: OpsConfig): Promise<string> {
  if (config.verifyStateMachineArn) return config.verifyStateMachineArn;
  for await (const page of paginateListStateMachines({ client: sfn }, {})) {
    const hit = page.stateMachines?.find((m) => m.name === config.verifyStateMachineName);
    if (hit?.stateMachineArn) return hit.stateMachineArn;
  }
  throw new Error(
    `state machine ${config.verifyStateMachineName} not found in ${config.region}; set CRM_VERIFY_STATE_MACHINE_ARN`,
  );
}

function renderRestore(r: RestoreResult): string {
  const p = r.plan;
  const req: Record<string, unknown> = { ...p.restore.request };
  const source =
    p.source.type === 'snapshot'
      ? `snapshot ${p.source.snapshotId} (${p.source.snapshotCreateTime ?? 'unknown time'})`
      : `${p.sourceInstanceId} at ${p.source.restoreTime} (restorable ${p.source.restorableWindow.earliest} .. ${p.source.restorableWindow.latest})`;
  const settings = Object.entries(req)
    .filter(([k]) => k !== 'Tags')
    .map(([k, v]) => [k, v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.join(', ') : String(v)]);
  const tags = ((req.Tags as { Key: string; Value: string }[] | undefined) ?? []).map((t) => [`tag ${t.Key}`, t.Value]);
  const out = [
    r.dryRun ? 'DRY RUN: nothing was changed. The restore would be:' : 'Restore started:',
    '',
    formatTable(
      ['SETTING', 'VALUE'],
      [
        ['source', source],
        ['target', p.targetInstanceId],
        ['api', p.restore.api],
        ['kms key', p.kmsKeyId ?? '(unencrypted)'],
        ...settings,
        ...tags,
      ],
    ),
  ];
  if (p.notes.length > 0) out.push('', 'Notes:', ...p.notes.map((n) => `  - ${n}`));
  if (p.differences.length > 0) {
    out.push(
      '',
      'Differs from live (a restore cannot carry these; apply them once the instance is available):',
      formatTable(
        ['SETTING', 'LIVE', 'RESTORED'],
        p.differences.map((d) => [d.setting, d.live, d.restored]),
      ),
      ...p.differences.map((d) => `  ${d.howToApply}`),
    );
  }
  if (p.logGroups.length > 0) out.push('', `Log groups created first (encrypted): ${p.logGroups.join(', ')}`);
  if (r.executionArn) {
    out.push('', `Verification: ${r.executionArn}`, `Watch it with: npm run ops -- restore status ${r.executionArn}`);
  } else if (r.dryRun) {
    out.push('', 'Run the same command without --dry-run to restore.');
  }
  return `${out.join('\n')}\n`;
}

function renderReport(report: VerificationReport): string {
  const checks = [
    [report.schema.ok ? 'OK' : 'FAIL', report.schema.name, report.schema.detail],
    ...report.checks.map((c) => [c.ok ? 'OK' : 'FAIL', c.name, c.detail]),
  ];
  return [
    `Verification ${report.ok ? 'PASSED' : 'FAILED'} for ${report.targetInstanceId} (${report.endpoint}), restore took ${report.restoreDurationSeconds} s`,
    '',
    formatTable(['RESULT', 'CHECK', 'DETAIL'], checks),
    '',
    formatTable(
      ['TABLE', 'ROWS'],
      report.tables.map((t) => [t.table, t.rows]),
    ),
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: CliIo = process): Promise<number> {
  // Operators read one line per failure; the SDK's Node-version notice (Node 22+ from 2027, see the
  // README's prerequisites) would bury it on every call.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let command: Command;
  let config: OpsConfig;
  try {
    command = parseCommand(argv);
    if (command.kind === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    config = resolveConfig(io.env);
  } catch (err) {
    io.stderr.write(`ops: ${errorMessage(err)} (see npm run ops -- help)\n`);
    return 2;
  }

  const rds = createRdsClient({ region: config.region });
  const sfn = new SFNClient({ region: config.region, maxAttempts: 5 });
  try {
    switch (command.kind) {
      case 'snapshots-list': {
        const snaps = (await listSnapshots(rds, { DBInstanceIdentifier: config.instanceId })).sort(
          (a, b) =>
            (b.SnapshotCreateTime?.getTime() ?? Number.MAX_SAFE_INTEGER) -
            (a.SnapshotCreateTime?.getTime() ?? Number.MAX_SAFE_INTEGER),
        );
        io.stdout.write(
          `${formatTable(
            ['SNAPSHOT', 'TYPE', 'STATUS', 'CREATED (UTC)', 'MANAGED', 'SCHEMA', 'GiB'],
            snaps.map((s) => [
              s.DBSnapshotIdentifier,
              s.SnapshotType,
              s.Status === 'creating' && s.PercentProgress !== undefined ? `creating ${s.PercentProgress}%` : s.Status,
              utc(s.SnapshotCreateTime),
              isManaged(s.TagList) ? 'yes' : 'no',
              tagMap(s.TagList)[TAG_SCHEMA_VERSION],
              s.AllocatedStorage,
            ]),
          )}\n${snaps.length} snapshot(s) of ${config.instanceId} in ${config.region}\n`,
        );
        return 0;
      }
      case 'snapshot-now': {
        const quiet = { info: () => {}, warn: () => {}, error: () => {} };
        const r = await takeScheduledSnapshot(
          {
            instanceId: config.instanceId,
            prefix: config.snapshotPrefix,
            environment: config.environment,
            scheduleName: 'manual',
            retention: { retentionDays: 1, minKeep: 1 }, // unused: prune is off
          },
          { rds, metrics: { addMetric: () => undefined }, logger: quiet, now: () => new Date() },
          { scheduledTime: new Date(), prune: false, scheduleTag: 'manual' },
        );
        io.stdout.write(
          `${formatTable(['SNAPSHOT', 'OUTCOME', 'MANUAL SNAPSHOTS IN REGION'], [[r.snapshotId, r.reason ? `${r.outcome}: ${r.reason}` : r.outcome, r.manualSnapshotCount]])}\n`,
        );
        if (r.outcome === 'skipped') return 1;
        return 0;
      }
      case 'restore': {
        // A dry run still shows the plan when the workflow cannot be looked up.
        const verifyStateMachineArn = await findStateMachine(sfn, config).catch((err: unknown) => {
          if (command.request.dryRun) return `(not found: ${config.verifyStateMachineName})`;
          throw err;
        });
        const r = await runRestore(
          { liveInstanceId: config.instanceId, verifyStateMachineArn },
          { rds, sfn, now: () => new Date() },
          command.request,
        );
        io.stdout.write(renderRestore(r));
        return 0;
      }
      case 'restore-status': {
        const e = await sfn.send(new DescribeExecutionCommand({ executionArn: command.executionArn }));
        io.stdout.write(
          `${formatTable(
            ['EXECUTION', 'STATUS', 'STARTED (UTC)', 'STOPPED (UTC)'],
            [[e.name, e.status, utc(e.startDate), utc(e.stopDate)]],
          )}\n\n`,
        );
        if (e.output) {
          const out = JSON.parse(e.output) as Partial<VerificationReport> & { verification?: VerificationReport };
          const report = out.verification ?? (out.checks ? (out as VerificationReport) : undefined);
          if (report) io.stdout.write(renderReport(report));
        }
        if (e.status === 'RUNNING' || e.status === 'SUCCEEDED' || e.status === 'PENDING_REDRIVE') return 0;
        io.stderr.write(
          `ops: verification ${e.status?.toLowerCase()}: ${e.error ?? ''}${e.cause ? ` ${e.cause.split('\n')[0]}` : ''}\n`,
        );
        return 1;
      }
    }
  } catch (err) {
    io.stderr.write(`ops: ${errorMessage(err).split('\n')[0]}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exit(code);
  });
}
