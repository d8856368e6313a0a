import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { EnvironmentConfig } from '../../../lib/config';
import { resourcesOf, type SynthesisedStage, synthStage, testConfig } from '../fixtures';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

function advisorStatements(ops: Template): Statement[] {
  const [[, policy]] = resourcesOf(ops, 'AWS::IAM::ManagedPolicy').filter(([, p]) =>
    /AdvisorFunction function/.test(String(p.Properties?.Description)),
  );
  return (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('CrmMonitoring and the database advisor', () => {
  let config: EnvironmentConfig;
  let prod: SynthesisedStage;
  let dev: SynthesisedStage;
  let ops: Template;
  beforeAll(() => {
    // Distinctive thresholds, so each alarm is seen to take its value from config.
    config = testConfig('prod', (c) => {
      c.monitoring.database = {
        cpuPercent: 77,
        freeStorageGiB: 11,
        freeStoragePercent: 12,
        freeableMemoryMiB: 513,
        connectionsPercentOfMax: 70,
        readLatencyMs: 21,
        writeLatencyMs: 22,
        diskQueueDepth: 13,
      };
      c.monitoring.proxy = { clientConnections: 1001, borrowLatencyMs: 51 };
      c.monitoring.api = { serverErrorRatePercent: 2.5, latencyP99Ms: 2001 };
      c.monitoring.lambda = { durationPercentOfTimeout: 75 };
      c.monitoring.waf = { blockedRequestsPer5Min: 1002 };
      c.advisor = { schedule: 'cron(30 6 ? * TUE *)', timeZone: 'Europe/Paris', reportRetentionDays: 90 };
    });
    prod = synthStage(config);
    dev = synthStage(testConfig('dev'));
    ops = prod.templates.ops;
  });

  describe('alarms', () => {
    it.each(['dev', 'prod'])('every alarm in every stack of %s notifies the alarm topic', (env) => {
      const stage = env === 'dev' ? dev : prod;
      const templates = Object.values(stage.templates);
      const alarms = templates.flatMap((t) => resourcesOf(t, 'AWS::CloudWatch::Alarm'));
      expect(alarms.length).toBeGreaterThan(40);
      const topics = resourcesOf(stage.templates.ops, 'AWS::SNS::Topic').filter(([, t]) =>
        String(t.Properties?.DisplayName).endsWith(' alarms'),
      );
      expect(topics).toHaveLength(1);
      const topicRef = { Ref: topics[0][0] };
      for (const [id, alarm] of alarms) {
        expect({ id, actions: alarm.Properties?.AlarmActions }).toEqual({ id, actions: [topicRef] });
      }
    });

    const GIB = 1024 ** 3;
    // [alarm name (after crm-prod-), threshold]
    const expected: [string, number][] = [
      ['Database-CPU-Usage-Warning', 77],
      ['Database-Min-Usage-Count-Critical', 11 * GIB],
      ['DatabaseHealth-DatabaseFreeStoragePercent-Warning', 12],
      ['DatabaseHealth-DatabaseFreeableMemory-Warning', 513],
      // m7g.large: 8 GiB / 9531392 = 901 default max_connections; 70 % of it.
      ['Database-Connection-Count-High-Warning', Math.floor(901 * 0.7)],
      ['DatabaseHealth-DatabaseReadLatency-Warning', 21],
      ['DatabaseHealth-DatabaseWriteLatency-Warning', 22],
      ['DatabaseHealth-DatabaseDiskQueueDepth-Warning', 13],
      ['Proxy-ProxyClientConnections-Warning', 1001],
      ['Proxy-ProxyBorrowLatency-Warning', 51],
      ['Api-Fault-Rate-Critical', 0.025],
      ['Api-Latency-P99-Warning', 2001],
      ['Waf-Blocked-Count-Warning', 1002],
      // 75 % of the advisor's 3-minute timeout, in ms.
      ['AdvisorFunction-Latency-Maximum-Warning', 135_000],
      ['ApiFunction-Latency-Maximum-Warning', 18_750],
      ['ApiFunction-Fault-Count-Critical', 0],
      ['ApiFunction-Throttled-Count-Warning', 0],
      ['AdvisorFunction-Fault-Count-Critical', 0],
      ['RestoreFunction-Fault-Count-Critical', 0],
      ['DrillFunction-Throttled-Count-Warning', 0],
      ['Advisor-AdvisorFindingsHigh-Critical', 0],
      ['DeadLetters-AdvisorScheduleDeadLetters-Critical', 0],
    ];
    it.each(expected)('crm-prod-%s has the configured threshold %d', (name, threshold) => {
      ops.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `crm-prod-${name}`, Threshold: threshold });
    });

    it('watches the proxy metrics by proxy name, borrow latency converted from microseconds', () => {
      ops.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'crm-prod-Proxy-ProxyBorrowLatency-Warning',
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'b / 1000' }),
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: {
                Namespace: 'AWS/RDS',
                MetricName: 'DatabaseConnectionsBorrowLatency',
                Dimensions: [{ Name: 'ProxyName', Value: 'crm-prod' }],
              },
            }),
          }),
        ]),
      });
    });

    it("alarms on the advisor's high findings in its namespace and dimensions, keeping state between runs", () => {
      ops.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'crm-prod-Advisor-AdvisorFindingsHigh-Critical',
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'ignore',
        Namespace: 'CRM/prod',
        MetricName: 'FindingsHigh',
        Dimensions: [
          { Name: 'Environment', Value: 'prod' },
          { Name: 'service', Value: 'database-advisor' },
        ],
      });
    });

    it('notifies the alarm topic on OK too for the library-made alarms', () => {
      const alarms = resourcesOf(ops, 'AWS::CloudWatch::Alarm').filter(([, a]) =>
        String(a.Properties?.AlarmName).startsWith('crm-prod-'),
      );
      expect(alarms.length).toBeGreaterThan(30);
      for (const [id, alarm] of alarms) {
        expect({ id, ok: alarm.Properties?.OKActions }).toEqual({ id, ok: alarm.Properties?.AlarmActions });
      }
    });

    it('does not alarm twice on snapshot-function errors (DatabaseSnapshots has that alarm)', () => {
      const names = resourcesOf(ops, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties?.AlarmName);
      expect(names).not.toContain('crm-prod-SnapshotFunction-Fault-Count-Critical');
      expect(names).toContain('crm-prod-SnapshotFunction-Throttled-Count-Warning');
    });
  });

  describe('dashboard', () => {
    it.each(['dev', 'prod'])('crm-%s shows the monitoring and the backup and restore alarms', (env) => {
      const stage = env === 'dev' ? dev : prod;
      const dashboards = resourcesOf(stage.templates.ops, 'AWS::CloudWatch::Dashboard');
      expect(dashboards.map(([, d]) => d.Properties?.DashboardName)).toEqual([`crm-${env}`]);
      const body = JSON.stringify(dashboards[0][1].Properties?.DashboardBody);
      for (const alarm of [
        'SnapshotsNoRecentSnapshotAlarm',
        'RestoreWorkflowFailedAlarm',
        'DrillDrillFailedAlarm',
        'MonitoringFacade',
      ]) {
        expect(body).toMatch(new RegExp(alarm));
      }
      for (const metric of ['DatabaseConnectionsBorrowLatency', 'FreeableMemory', '5XXError', 'BlockedRequests']) {
        expect(body).toContain(metric);
      }
    });
  });

  describe('database advisor', () => {
    it('runs weekly on the configured schedule, invoking the advisor function', () => {
      ops.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(30 6 ? * TUE *)',
        ScheduleExpressionTimezone: 'Europe/Paris',
        Target: Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AdvisorAdvisorFunction'), 'Arn'] },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AdvisorScheduleDeadLetterQueue'), 'Arn'] },
          },
        }),
      });
    });

    it('is a 256 MB, 3-minute, single-concurrency function in the VPC with the documented environment', () => {
      ops.hasResourceProperties('AWS::Lambda::Function', {
        MemorySize: 256,
        Timeout: 180,
        ReservedConcurrentExecutions: 1,
        VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
        Environment: {
          Variables: Match.objectLike({
            // The data stack's SSM parameter, read at deploy time (no export pins the instance).
            DB_HOST: { Ref: Match.stringLikeRegexp('^SsmParameterValuecrmproddatabaseendpointaddress') },
            DB_PORT: String(config.database.port),
            DB_NAME: 'crm',
            DB_USER: 'crm_monitor',
            REPORT_BUCKET: { Ref: Match.stringLikeRegexp('^AdvisorReportBucket') },
            REPORT_KMS_KEY_ARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OpsKey'), 'Arn'] },
            REPORT_TOPIC_ARN: { Ref: Match.stringLikeRegexp('^AdvisorReportsTopic') },
            ENVIRONMENT: 'prod',
            INSTANCE_CLASS: 'm7g.large',
            METRICS_NAMESPACE: 'CRM/prod',
          }),
        },
      });
    });

    it('reaches the database on its port', () => {
      ops.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        FromPort: config.database.port,
        ToPort: config.database.port,
        Description: Match.stringLikeRegexp('database advisor'),
      });
    });

    it('keeps reports in a KMS-encrypted, versioned, non-public bucket with a lifecycle and access logs', () => {
      ops.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OpsKey'), 'Arn'] },
              },
            },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ Prefix: 'reports/', ExpirationInDays: 90, Status: 'Enabled' })]),
        },
        LoggingConfiguration: { DestinationBucketName: { Ref: Match.stringLikeRegexp('^AdvisorAccessLogBucket') } },
      });
    });

    it('refuses requests without TLS on both buckets', () => {
      const policies = resourcesOf(ops, 'AWS::S3::BucketPolicy');
      expect(policies).toHaveLength(2);
      for (const [, policy] of policies) {
        expect((policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toContainEqual(
          expect.objectContaining({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        );
      }
    });

    it('may connect only as crm_monitor and write only under reports/<env>/', () => {
      const statements = advisorStatements(ops);
      const connect = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('rds-db:')));
      expect(connect).toHaveLength(1);
      expect(JSON.stringify(connect[0].Resource)).toMatch(/"\/crm_monitor"\]\]\}$/);
      const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
      expect(s3).toHaveLength(1);
      expect(actionsOf(s3[0])).toEqual(['s3:PutObject']);
      expect(s3[0].Resource).toEqual({
        'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^AdvisorReportBucket/), 'Arn'] }, '/reports/prod/*']],
      });
      const publish = statements.filter((s) => actionsOf(s).includes('sns:Publish'));
      expect(publish).toEqual([
        expect.objectContaining({ Resource: { Ref: expect.stringMatching(/^AdvisorReportsTopic/) } }),
      ]);
    });

    it('mails the summary through its own encrypted report topic', () => {
      ops.hasResourceProperties('AWS::SNS::Topic', {
        DisplayName: 'CRM prod database advisor',
        KmsMasterKeyId: Match.anyValue(),
      });
      ops.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: 'crm-oncall@example.com',
        TopicArn: { Ref: Match.stringLikeRegexp('^AdvisorReportsTopic') },
      });
    });
  });
});
