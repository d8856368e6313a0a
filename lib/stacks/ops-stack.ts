import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import type { CrmDatabase } from '../constructs/crm-database';
import type { CrmFunction } from '../constructs/crm-function';
import { CrmMonitoring, type MonitoredFunction } from '../constructs/crm-monitoring';
import type { CrmNetwork } from '../constructs/crm-network';
import { DatabaseAdvisor } from '../constructs/database-advisor';
import { DatabaseSnapshots } from '../constructs/database-snapshots';
import { EncryptionKey } from '../constructs/log-encryption-key';
import { RestoreDrill } from '../constructs/restore-drill';
import { RestoreWorkflow } from '../constructs/restore-workflow';
import { SecureTopic } from '../constructs/secure-topic';
import { retentionDays } from './retention';

export interface OpsStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: CrmNetwork;
  readonly database: CrmDatabase;
  /** Key the database and its snapshots are encrypted with. */
  readonly databaseKey: kms.IKey;
  /** What the monitoring watches in the API stack. */
  readonly api: {
    readonly restApi: apigw.RestApi;
    readonly stageName: string;
    readonly handler: CrmFunction;
    readonly webAcl: wafv2.CfnWebACL;
  };
}

/**
 * Stateless operations: snapshots and retention, restore with verification, restore drills, the
 * weekly database advisor, alarms and the dashboard.
 */
export class OpsStack extends Stack {
  public readonly alarmTopic: SecureTopic;
  public readonly snapshots: DatabaseSnapshots;
  public readonly restore: RestoreWorkflow;
  public readonly drill: RestoreDrill;
  public readonly advisor: DatabaseAdvisor;
  public readonly monitoring: CrmMonitoring;
  /** CloudWatch namespace of the project's own metrics in this environment. */
  public readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: OpsStackProps) {
    super(scope, id, props);
    const { config, network, database, databaseKey } = props;
    const logRetention = retentionDays(config.logRetentionDays);
    this.metricsNamespace = `CRM/${config.name}`;
    const key = new EncryptionKey(this, 'OpsKey', {
      alias: `crm-${config.name}-ops`,
      description: `CRM ${config.name}: operations logs, queues and topics`,
    }).key;
    this.alarmTopic = new SecureTopic(this, 'Alarms', {
      displayName: `CRM ${config.name} alarms`,
      encryptionKey: key,
      emails: config.alarms.emails,
      servicePublishers: ['cloudwatch.amazonaws.com'],
    });
    const common = { environmentName: config.name, vpc: network.vpc, database, encryptionKey: key, logRetention };

    this.snapshots = new DatabaseSnapshots(this, 'Snapshots', {
      ...common,
      backup: config.backup,
      databaseKey,
      alarmTopic: this.alarmTopic.topic,
      metricsNamespace: this.metricsNamespace,
    });
    this.restore = new RestoreWorkflow(this, 'Restore', {
      ...common,
      databaseKey,
      reportTopic: this.alarmTopic.topic,
      alarmTopic: this.alarmTopic.topic,
      metricsNamespace: this.metricsNamespace,
      timeout: Duration.minutes(config.backup.restoreTimeoutMinutes),
    });
    this.drill = new RestoreDrill(this, 'Drill', {
      ...common,
      databaseKey,
      backup: config.backup,
      restore: this.restore,
      snapshotPrefix: this.snapshots.snapshotPrefix,
      alarmTopic: this.alarmTopic.topic,
      metricsNamespace: this.metricsNamespace,
    });
    this.advisor = new DatabaseAdvisor(this, 'Advisor', {
      ...common,
      instanceClass: config.database.instanceClass,
      advisor: config.advisor,
      emails: config.alarms.emails,
      metricsNamespace: this.metricsNamespace,
    });

    const functions: MonitoredFunction[] = [
      { name: 'Api', function: props.api.handler },
      { name: 'Snapshot', function: this.snapshots.snapshotFunction, errorsAlarmedElsewhere: true },
      ...(this.snapshots.copyFunction ? [{ name: 'SnapshotCopy', function: this.snapshots.copyFunction }] : []),
      { name: 'Restore', function: this.restore.restoreFunction },
      { name: 'RestoreStatus', function: this.restore.statusFunction },
      { name: 'RestoreVerify', function: this.restore.verifyFunction },
      { name: 'Drill', function: this.drill.drillFunction },
      { name: 'Advisor', function: this.advisor.advisorFunction },
    ];
    this.monitoring = new CrmMonitoring(this, 'Monitoring', {
      environmentName: config.name,
      thresholds: config.monitoring,
      alarmTopic: this.alarmTopic.topic,
      database,
      instanceClass: config.database.instanceClass,
      allocatedStorageGiB: config.database.allocatedStorageGiB,
      restApi: props.api.restApi,
      apiStageName: props.api.stageName,
      webAcl: props.api.webAcl,
      functions,
      advisor: this.advisor,
      deadLetterQueues: [{ name: 'AdvisorSchedule', queue: this.advisor.schedule.deadLetterQueue }],
      alarmGroups: [
        { title: 'Snapshots', alarms: this.snapshots.alarms },
        { title: 'Restore workflow', alarms: this.restore.alarms },
        { title: 'Restore drill', alarms: this.drill.alarms },
      ],
    });

    // What an operator needs (the runbook refers to these; `npx cdk deploy` prints them).
    const outputs: Record<string, [string, string]> = {
      RestoreFunctionName: [
        this.restore.restoreFunction.function.functionName,
        'Invoke to restore (see docs/runbooks/restore.md)',
      ],
      VerifyStateMachineArn: [this.restore.stateMachine.stateMachineArn, 'Restore verification workflow'],
      DrillStateMachineArn: [this.drill.stateMachine.stateMachineArn, 'Monthly restore drill workflow'],
      SnapshotFunctionName: [
        this.snapshots.snapshotFunction.function.functionName,
        'Takes and prunes managed snapshots',
      ],
      AlarmTopicArn: [this.alarmTopic.topic.topicArn, 'Every alarm of this environment'],
      DashboardName: [this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard'],
      AdvisorReportBucket: [this.advisor.reportBucket.bucketName, 'Weekly database advisor reports'],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) new CfnOutput(this, id, { value, description });
  }
}
