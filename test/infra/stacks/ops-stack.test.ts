import { Match, type Template } from 'aws-cdk-lib/assertions';
import { resourcesOf, synthStage, testConfig } from '../fixtures';

// asl-validator ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

type Resource = { Properties: Record<string, unknown>; DependsOn?: string[] };

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'eu-west-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** A plausible value for a CloudFormation intrinsic inside a state machine definition. */
function placeholder(part: unknown): string {
  if (typeof part === 'string') return part;
  const ref = (part as { Ref?: string }).Ref;
  if (ref) return PSEUDO[ref] ?? 'arn:aws:sns:eu-west-1:123456789012:topic';
  return 'arn:aws:lambda:eu-west-1:123456789012:function:task';
}

/** The ASL of a state machine, with CloudFormation intrinsics replaced by placeholder strings. */
function definitionOf(template: Template, name: string): Record<string, unknown> {
  const [, machine] = resourcesOf(template, 'AWS::StepFunctions::StateMachine').find(
    ([, r]) => r.Properties?.StateMachineName === name,
  )! as [string, Resource];
  const join = (machine.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const text = join[1].map(placeholder).join('');
  return JSON.parse(text);
}

function policyStatements(template: Template, descriptionPattern: RegExp): Record<string, unknown>[] {
  return resourcesOf(template, 'AWS::IAM::ManagedPolicy')
    .filter(([, p]) => descriptionPattern.test(String(p.Properties?.Description)))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
}

describe('OpsStack', () => {
  let ops: Template;
  let withCopy: Template;
  beforeAll(() => {
    ops = synthStage(testConfig('prod')).templates.ops;
    withCopy = synthStage(
      testConfig('dev', (c) => {
        c.backup.crossRegionCopy = {
          region: 'eu-central-1',
          kmsKeyArn: 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        };
      }),
    ).templates.ops;
  });

  describe('scheduled snapshots', () => {
    it('runs on the configured cron and time zone, with retries, a maximum age and a DLQ', () => {
      ops.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(0 3 * * ? *)',
        ScheduleExpressionTimezone: 'UTC',
        Target: Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SnapshotsSnapshotFunction'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SnapshotsScheduleDeadLetterQueue'), 'Arn'] },
          },
          Input: Match.stringLikeRegexp('<aws.scheduler.scheduled-time>'),
        }),
      });
    });

    it('passes retention and identity to the function', () => {
      ops.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            DB_INSTANCE_ID: 'crm-prod',
            SNAPSHOT_PREFIX: 'crm-prod',
            RETENTION_DAYS: '35',
            MIN_KEEP: '7',
            METRICS_NAMESPACE: 'CRM/prod',
          }),
        },
      });
    });

    it('may create and tag only its prefix, and delete only tagged managed snapshots', () => {
      const statements = policyStatements(ops, /SnapshotFunction function/);
      const byAction = (a: string) => statements.filter((s) => ([] as unknown[]).concat(s.Action).includes(a));
      expect(JSON.stringify(byAction('rds:CreateDBSnapshot'))).toMatch(/snapshot:crm-prod-\*/);
      const del = byAction('rds:DeleteDBSnapshot');
      expect(del).toHaveLength(1);
      expect(JSON.stringify(del[0].Resource)).toMatch(/snapshot:crm-prod-\*/);
      expect(del[0].Condition).toEqual({ StringEquals: { 'rds:snapshot-tag/managed-by': 'crm-platform' } });
    });

    it('grants no rds:* and no wildcard resource to any mutating RDS action', () => {
      const statements = policyStatements(ops, /.*/);
      for (const s of statements) {
        const actions = ([] as string[]).concat(s.Action as string);
        expect(actions).not.toContain('rds:*');
        const mutating = actions.filter((a) => /^rds:(Create|Delete|Restore|Copy|Modify|AddTags|Stop|Reboot)/.test(a));
        if (mutating.length > 0) expect(s.Resource).not.toEqual('*');
      }
    });

    it('alarms on failures, a 26-hour gap and the 80 % quota, all to the alarm topic', () => {
      ops.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'SnapshotSucceeded',
        Namespace: 'CRM/prod',
        Period: 3600,
        EvaluationPeriods: 26,
        TreatMissingData: 'breaching',
      });
      ops.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ManualSnapshotCount', Threshold: 80 });
      ops.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'SnapshotFailed', Threshold: 1 });
    });

    it('does not alarm on a run deferred by a busy instance (it fails on purpose to be retried), only when every retry failed', () => {
      const [[snapshotFn]] = resourcesOf(ops, 'AWS::Lambda::Function').filter(([id]) =>
        id.startsWith('SnapshotsSnapshotFunction'),
      );
      const alarms = resourcesOf(ops, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
      const onFunctionErrors = alarms.filter(
        (a) => a.MetricName === 'Errors' && JSON.stringify(a.Dimensions).includes(JSON.stringify({ Ref: snapshotFn })),
      );
      expect(onFunctionErrors).toEqual([]);
      const fnConfig = ops.findResources('AWS::Lambda::Function')[snapshotFn!]!.Properties as {
        DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [string, string] } };
      };
      const dlq = fnConfig.DeadLetterConfig.TargetArn['Fn::GetAtt'][0];
      expect(alarms).toContainEqual(
        expect.objectContaining({
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
        }),
      );
    });

    it('copies to another region only when configured, with the configured key', () => {
      expect(JSON.stringify(ops.toJSON())).not.toContain('DESTINATION_REGION');
      withCopy.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.rds'],
          'detail-type': ['RDS DB Snapshot Event'],
          detail: { EventID: ['RDS-EVENT-0042'], SourceIdentifier: [{ prefix: 'crm-dev-' }] },
        },
      });
      withCopy.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            DESTINATION_REGION: 'eu-central-1',
            DESTINATION_KMS_KEY_ARN: Match.stringLikeRegexp('^arn:aws:kms:eu-central-1:'),
          }),
        },
      });
    });
  });

  describe('restore', () => {
    it('validates as Amazon States Language', () => {
      for (const name of ['crm-prod-restore-verify', 'crm-prod-restore-drill']) {
        const result = aslValidator(definitionOf(ops, name));
        expect(result.errorsText()).toBe('');
        expect(result.isValid).toBe(true);
      }
    });

    it('waits for the instance, retries a warming database, and fails on a failed verification', () => {
      const asl = definitionOf(ops, 'crm-prod-restore-verify') as { States: Record<string, Record<string, unknown>> };
      expect(Object.keys(asl.States)).toEqual(
        expect.arrayContaining([
          'CheckStatus',
          'InstanceReady?',
          'WaitForInstance',
          'Verify',
          'Verified?',
          'NotifyFailure',
        ]),
      );
      expect(asl.States.Verify.Retry).toEqual(
        expect.arrayContaining([expect.objectContaining({ ErrorEquals: ['DatabaseUnavailableError'] })]),
      );
    });

    it('has logging, tracing and the configured time limit', () => {
      ops.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: 'crm-prod-restore-verify',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      });
      const asl = definitionOf(ops, 'crm-prod-restore-verify');
      expect(asl.TimeoutSeconds).toBe(180 * 60);
    });

    it('may restore only into new instances under the live prefix, never modify or delete', () => {
      const statements = policyStatements(ops, /RestoreFunction function/);
      const actions = statements.flatMap((s) => ([] as string[]).concat(s.Action as string));
      expect(actions).toEqual(
        expect.arrayContaining(['rds:RestoreDBInstanceFromDBSnapshot', 'rds:RestoreDBInstanceToPointInTime']),
      );
      expect(actions.filter((a) => /^rds:(Delete|Modify|Stop|Reboot)/.test(a))).toEqual([]);
      expect(JSON.stringify(statements)).toMatch(/db:crm-prod-\*/);
    });
  });

  describe('drill', () => {
    it('starts the drill workflow on the monthly schedule', () => {
      ops.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(0 4 1 * ? *)',
        Target: Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^DrillStateMachine') } }),
      });
    });

    it("sweeps leftovers of earlier drills daily, with the drill workflow's own age guard", () => {
      const asl = definitionOf(ops, 'crm-prod-restore-drill') as {
        States: Record<string, { Parameters?: unknown }>;
      };
      // payloadResponseOnly: the state's Parameters are the function's event.
      const inWorkflow = asl.States.SweepLeftovers.Parameters as { action: string; minAgeMinutes: number };
      expect(inWorkflow.action).toBe('sweep');
      const sweeps = resourcesOf(ops, 'AWS::Scheduler::Schedule')
        .map(([, s]) => s.Properties as { ScheduleExpression: string; Target: { Arn: unknown; Input: unknown } })
        // Inputs holding a token (an ARN) are Fn::Join objects; the sweep's is plain JSON.
        .filter((s) => typeof s.Target.Input === 'string' && JSON.parse(s.Target.Input).action === 'sweep');
      expect(sweeps).toHaveLength(1);
      expect(sweeps[0]!.ScheduleExpression).toMatch(/^cron\(\d+ \d+ \* \* \? \*\)$/);
      expect(JSON.stringify(sweeps[0]!.Target.Arn)).toMatch(/DrillDrillFunction/);
      expect(JSON.parse(sweeps[0]!.Target.Input as string)).toEqual({
        action: 'sweep',
        minAgeMinutes: inWorkflow.minAgeMinutes,
      });
    });

    it('may delete only drill instances carrying the drill tag', () => {
      const statements = policyStatements(ops, /DrillFunction function/);
      const del = statements.filter((s) => ([] as unknown[]).concat(s.Action).includes('rds:DeleteDBInstance'));
      expect(del).toHaveLength(1);
      expect(JSON.stringify(del[0].Resource)).toMatch(/db:crm-prod-drill-\*/);
      expect(del[0].Condition).toEqual({ StringEquals: { 'rds:db-tag/drill': 'true' } });
    });

    it('deletes the drill instance on every path after the restore', () => {
      const asl = definitionOf(ops, 'crm-prod-restore-drill') as { States: Record<string, Record<string, unknown>> };
      expect(asl.States.Verify.Next).toBe('DeleteDrillInstance');
      expect(JSON.stringify(asl.States.Verify.Catch)).toContain('DeleteDrillInstanceAfterError');
      expect(JSON.stringify(asl.States.CheckStatus.Catch)).toContain('DeleteDrillInstanceAfterError');
    });

    it('alarms when a drill fails or none succeeded for 35 days', () => {
      ops.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'DrillFailed' });
      ops.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'DaysSinceLastDrillSuccess',
        Threshold: 35,
        TreatMissingData: 'breaching',
      });
    });
  });

  it('lets CloudWatch use the alarm topic key only on behalf of this account', () => {
    const keyStatements = resourcesOf(ops, 'AWS::KMS::Key').flatMap(
      ([, k]) => (k.Properties.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement,
    );
    const forCloudWatch = keyStatements.filter(
      (st) => JSON.stringify(st.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
    );
    expect(forCloudWatch.length).toBeGreaterThan(0);
    for (const st of forCloudWatch)
      expect(st.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': '123456789012' } });
  });

  it('gives every alarm an action on the encrypted alarm topic', () => {
    const alarms = resourcesOf(ops, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThanOrEqual(10);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties?.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmsTopic/) }]);
    }
    ops.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('gives every schedule a dead-letter queue', () => {
    for (const [, schedule] of resourcesOf(ops, 'AWS::Scheduler::Schedule')) {
      expect((schedule.Properties.Target as { DeadLetterConfig?: unknown }).DeadLetterConfig).toBeDefined();
    }
  });

  it('matches the snapshot', () => {
    expect(ops.toJSON()).toMatchSnapshot();
  });
});
