import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as ssm from 'aws-cdk-lib/aws-ssm';
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
import { apiParameterName } from './api-stack';
import { retentionDays } from './retention';

export interface OpsStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: CrmNetwork;
  /** The database in the data stack; this stack uses it through `accessFrom` (no unstable imports). */
  readonly database: CrmDatabase;
  /** Key the database and its snapshots are encrypted with. */
  readonly databaseKey: kms.IKey;
  /** What the monitoring watches in the API stack: literal names, nothing that needs an import. */
  readonly api: {
    readonly restApiName: string;
    readonly stageName: string;
    readonly functionTimeout: Duration;
    /** The library reads only its literal `name` and `scope`. */
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
    const { config, network, databaseKey } = props;
    // Literal names, stable ids and deploy-time SSM parameters: nothing that pins the data stack.
    const database = props.database.accessFrom(this);
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

    const watch = (name: string, fn: CrmFunction, errorsAlarmedElsewhere = false): MonitoredFunction => ({
      name,
      function: fn.function,
      // CrmFunction requires a timeout, so the function always has one.
      timeout: fn.function.timeout!,
      errorsAlarmedElsewhere,
    });
    const functions: MonitoredFunction[] = [
      watch('Snapshot', this.snapshots.snapshotFunction, true),
      ...(this.snapshots.copyFunction ? [watch('SnapshotCopy', this.snapshots.copyFunction)] : []),
      watch('Restore', this.restore.restoreFunction),
      watch('RestoreStatus', this.restore.statusFunction),
      watch('RestoreVerify', this.restore.verifyFunction),
      watch('Drill', this.drill.drillFunction),
      watch('Advisor', this.advisor.advisorFunction),
    ];
    this.monitoring = new CrmMonitoring(this, 'Monitoring', {
      environmentName: config.name,
      thresholds: config.monitoring,
      alarmTopic: this.alarmTopic.topic,
      database,
      instanceClass: config.database.instanceClass,
      allocatedStorageGiB: config.database.allocatedStorageGiB,
      api: {
        ...props.api,
        // Generated by CloudFormation, so it changes when the function is replaced: read from the
        // API stack's parameter when this stack deploys (after the API stack), not imported.
        functionName: ssm.StringParameter.valueForStringParameter(this, apiParameterName(config.name, 'function-name')),
      },
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
