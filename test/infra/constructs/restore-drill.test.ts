/**
 * The restore and drill workflow definitions and the drill's permissions, as synthesised. The
 * behaviour itself is proven by running them (test/e2e); these pin what IAM and the ASL must say.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorNames } from '../../../contracts/errors';
import { definitionOf, type SynthesisedOps, synthesiseOps } from '../../e2e/harness';

type State = Record<string, unknown> & { Type: string };

let ops: SynthesisedOps;
const states = (name: string) => definitionOf(ops, name).States as unknown as Record<string, State>;

beforeAll(() => {
  ops = synthesiseOps();
});
afterAll(() => ops?.cleanup());

describe.each(['crm-prod-restore-verify', 'crm-prod-restore-drill'])('%s', (name) => {
  it('gives every task an object (or no) Parameters, never a JSONPath typed as a string', () => {
    for (const [id, state] of Object.entries(states(name))) {
      if (state.Type !== 'Task') continue;
      expect([id, typeof (state.Parameters ?? {})]).toEqual([id, 'object']);
    }
  });

  it('retries Verify on the name the database error class carries', () => {
    const retry = states(name).Verify.Retry as { ErrorEquals: string[] }[];
    expect(retry.map((r) => r.ErrorEquals)).toContainEqual([ErrorNames.DatabaseUnavailable]);
  });

  it('retries Verify when Lambda throttles it (reserved concurrency taken by another restore or drill)', () => {
    const retry = states(name).Verify.Retry as { ErrorEquals: string[] }[];
    expect(retry.map((r) => r.ErrorEquals)).toContainEqual(['Lambda.TooManyRequestsException']);
  });
});

describe('restore drill', () => {
  it('hands Verify the verification input (InputPath), with the status inside it', () => {
    const verify = states('crm-prod-restore-drill').Verify;
    expect(verify.InputPath).toBe('$.restore.verificationInput');
    expect(verify.Parameters).toBeUndefined();
    expect(states('crm-prod-restore-drill').CheckStatus.ResultPath).toBe('$.restore.verificationInput.status');
  });

  it('sweeps leftovers first, sparing instances younger than the workflow timeout', () => {
    const asl = definitionOf(ops, 'crm-prod-restore-drill');
    expect(asl.StartAt).toBe('SweepLeftovers');
    const sweep = asl.States.SweepLeftovers as unknown as State;
    expect(sweep.Parameters).toEqual({ action: 'sweep', minAgeMinutes: (asl.TimeoutSeconds ?? 0) / 60 });
  });

  it('records the failure even when a clean-up fails', () => {
    const s = states('crm-prod-restore-drill');
    for (const id of ['DeleteDrillInstanceAfterError', 'DeleteDrillInstance']) {
      expect(s[id].Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.cleanUpError', Next: 'RecordFailure' },
      ]);
    }
  });

  it('may delete only the RDS log groups of drill instances', () => {
    const statements = Object.values(ops.template.Resources)
      .filter(
        (r) => r.Type === 'AWS::IAM::ManagedPolicy' && /DrillFunction function/.test(String(r.Properties?.Description)),
      )
      .flatMap((r) => (r.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement)
      .filter((s) => ([] as unknown[]).concat(s.Action).includes('logs:DeleteLogGroup'));
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toBe('logs:DeleteLogGroup');
    const resources = (statements[0].Resource as { 'Fn::Join': [string, unknown[]] }[]).map((r) =>
      r['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : '<partition>')).join(''),
    );
    expect(resources).toEqual([
      'arn:<partition>:logs:eu-west-1:123456789012:log-group:/aws/rds/instance/crm-prod-drill-*/postgresql:*',
      'arn:<partition>:logs:eu-west-1:123456789012:log-group:/aws/rds/instance/crm-prod-drill-*/upgrade:*',
    ]);
  });
});

describe('bundles', () => {
  it('keep class names through minification (esbuild keepNames), so errors outside the contract read right too', () => {
    const [, restoreFn] = Object.entries(ops.template.Resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('RestoreRestoreFunction'),
    )!;
    const key = (restoreFn.Properties!.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
    const bundle = readFileSync(join(ops.assemblyDir, `asset.${key}`, 'index.js'), 'utf8');
    // lambda/restore/restore.ts names no string "VerificationNotStartedError"; only keepNames puts it there.
    expect(bundle).toContain('"VerificationNotStartedError"');
  });
});
