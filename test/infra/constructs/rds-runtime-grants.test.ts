/**
 * What the RDS runtime paths need from their constructs (issue 15 items 7, 11, 13): the restore
 * functions pre-create the new instance's RDS log groups (environment and exact grants), and the
 * scheduled snapshot function is retried by Lambda (Scheduler invokes asynchronously) with the time
 * to wait out a busy instance.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { resourcesOf, synthStage, testConfig } from '../fixtures';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

/** The function whose environment has `key: value`, as [logicalId, resource]. */
function functionWithEnv(template: Template, key: string, value: unknown) {
  const found = resourcesOf(template, 'AWS::Lambda::Function').filter(
    ([, r]) =>
      JSON.stringify((r.Properties.Environment as { Variables?: Record<string, unknown> })?.Variables?.[key]) ===
      JSON.stringify(value),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** Every statement of the managed policies whose description matches. */
function statements(template: Template, description: RegExp): Statement[] {
  return resourcesOf(template, 'AWS::IAM::ManagedPolicy')
    .filter(([, p]) => description.test(String(p.Properties.Description)))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const withAction = (all: Statement[], action: string) =>
  all.filter((s) => ([] as string[]).concat(s.Action).includes(action));

describe('RDS runtime grants and settings', () => {
  let ops: Template;
  beforeAll(() => {
    ops = synthStage(testConfig('prod')).templates.ops;
  });

  describe('restore: log groups of the new instance', () => {
    it('passes the ops key and the log retention to the restore function', () => {
      ops.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            VERIFY_STATE_MACHINE_ARN: Match.anyValue(),
            LOG_GROUP_KMS_KEY_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OpsKey'), 'Arn'] },
            LOG_RETENTION_DAYS: Match.stringLikeRegexp('^\\d+$'),
          }),
        },
      });
    });

    it.each([
      ['RestoreFunction', 'crm-prod-*'],
      ['DrillFunction', 'crm-prod-drill-*'],
    ])('%s may create and set retention only on the export log groups of %s instances', (fn, pattern) => {
      const all = statements(ops, new RegExp(`${fn} function`));
      const create = withAction(all, 'logs:CreateLogGroup');
      expect(create).toHaveLength(1);
      expect(([] as string[]).concat(create[0]!.Action).sort()).toEqual([
        'logs:CreateLogGroup',
        'logs:PutRetentionPolicy',
      ]);
      const resources = JSON.stringify(create[0]!.Resource);
      for (const log of ['postgresql', 'upgrade']) {
        // The `:*` form: CloudWatch Logs authorises CreateLogGroup/PutRetentionPolicy against it.
        expect(resources).toContain(`:log-group:/aws/rds/instance/${pattern}/${log}:*"`);
      }
      // Never the live instance's own log groups.
      expect(resources).not.toMatch(/\/aws\/rds\/instance\/crm-prod\//);
      expect(
        withAction(all, 'logs:DeleteLogGroup').filter((s) => JSON.stringify(s.Resource).includes('crm-prod/')),
      ).toEqual([]);
    });
  });

  describe('scheduled snapshot: retried by Lambda, with time to wait out a busy instance', () => {
    it('has asynchronous retries and a maximum event age (Scheduler invokes asynchronously)', () => {
      const [id] = functionWithEnv(ops, 'SCHEDULE_NAME', 'crm-prod-daily');
      ops.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: id },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 7200,
      });
    });

    it('waits up to SNAPSHOT_MAX_WAIT_SECONDS, within a timeout that leaves time to prune', () => {
      const [, fn] = functionWithEnv(ops, 'SCHEDULE_NAME', 'crm-prod-daily');
      const wait = Number(
        (fn.Properties.Environment as { Variables: Record<string, string> }).Variables.SNAPSHOT_MAX_WAIT_SECONDS,
      );
      expect(wait).toBe(600);
      expect(fn.Properties.Timeout as number).toBeGreaterThanOrEqual(wait + 60);
    });
  });
});
