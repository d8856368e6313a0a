import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge, nagArn } from '../compliance';
import type { BackupConfig } from '../config/backup-config';
import type { ICrmDatabase } from './crm-database';
import { CrmFunction } from './crm-function';
import { CrmSchedule } from './crm-schedule';
import { allowServiceToSendDeadLetters } from './dead-letter-queue';

/** How long one snapshot run waits for an instance that is backing up or being modified. */
export const SNAPSHOT_MAX_WAIT = Duration.minutes(10);
/** The wait plus pruning and the quota count (the handler keeps 60 s back for them). */
export const SNAPSHOT_FUNCTION_TIMEOUT = Duration.minutes(12);
/** Lambda's maximum: the slot gets three runs in all, about 35 minutes with the waits. */
export const SNAPSHOT_RETRY_ATTEMPTS = 2;

/** The `managed-by` tag value the snapshot functions set and prune by (lambda/snapshot/tags.ts). */
export const MANAGED_BY = 'crm-platform';

export interface DatabaseSnapshotsProps {
  readonly environmentName: string;
  readonly vpc: ec2.IVpc;
  readonly database: ICrmDatabase;
  readonly backup: BackupConfig;
  readonly encryptionKey: kms.IKey;
  /** Key the database (and so its snapshots) is encrypted with. */
  readonly databaseKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly alarmTopic: sns.ITopic;
  /** CloudWatch namespace the functions publish to. */
  readonly metricsNamespace: string;
}

/**
 * Scheduled manual snapshots with safe retention (never an unmanaged, automated, creating or the
 * newest snapshot; never below `minKeep`), the manual-snapshot quota alarm, optional
 * cross-region copies with a customer-managed key, and alarms when snapshots stop succeeding.
 */
export class DatabaseSnapshots extends Construct {
  public readonly snapshotFunction: CrmFunction;
  public readonly copyFunction?: CrmFunction;
  public readonly schedule: CrmSchedule;
  public readonly snapshotPrefix: string;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: DatabaseSnapshotsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { database, backup } = props;
    this.snapshotPrefix = database.instanceIdentifier;
    const scheduleName = `crm-${props.environmentName}-daily`;
    const snapshotArn = (name: string) =>
      stack.formatArn({
        service: 'rds',
        resource: 'snapshot',
        resourceName: name,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    const instanceArn = stack.formatArn({
      service: 'rds',
      resource: 'db',
      resourceName: database.instanceIdentifier,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.snapshotFunction = new CrmFunction(this, 'SnapshotFunction', {
      entry: 'lambda/snapshot/handler.ts',
      description: 'Takes the scheduled manual snapshot and prunes expired managed snapshots',
      vpc: props.vpc,
      memorySize: 256,
      // Room to wait out a busy instance (SNAPSHOT_MAX_WAIT_SECONDS) and still prune.
      timeout: SNAPSHOT_FUNCTION_TIMEOUT,
      reservedConcurrentExecutions: 1,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      environment: {
        SNAPSHOT_MAX_WAIT_SECONDS: String(SNAPSHOT_MAX_WAIT.toSeconds()),
        DB_INSTANCE_ID: database.instanceIdentifier,
        SNAPSHOT_PREFIX: this.snapshotPrefix,
        ENVIRONMENT: props.environmentName,
        SCHEDULE_NAME: scheduleName,
        RETENTION_DAYS: String(backup.retentionDays),
        MIN_KEEP: String(backup.minKeep),
        METRICS_NAMESPACE: props.metricsNamespace,
        DB_SECRET_ARN: database.secret.secretArn,
        DB_HOST: database.instance.dbInstanceEndpointAddress,
        DB_PORT: String(database.port),
        DB_NAME: database.databaseName,
      },
      // EventBridge Scheduler invokes asynchronously: its retry policy only covers a refused
      // invocation, never a failed run. Lambda's own async retries re-run a failed slot (a
      // deferral while the instance is busy, a throttled API); the same scheduledTime names the
      // same snapshot, so a retry never takes a second one. Then the failure goes to the DLQ.
      retryAttempts: SNAPSHOT_RETRY_ATTEMPTS,
      maxEventAge: Duration.hours(2),
    });
    const fnRole = this.snapshotFunction.role;
    fnRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['rds:CreateDBSnapshot'],
        resources: [instanceArn, snapshotArn(`${this.snapshotPrefix}-*`)],
      }),
    );
    fnRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['rds:AddTagsToResource'],
        resources: [snapshotArn(`${this.snapshotPrefix}-*`)],
      }),
    );
    fnRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Pruning: only snapshots with this project's prefix AND its managed-by tag.
        actions: ['rds:DeleteDBSnapshot'],
        resources: [snapshotArn(`${this.snapshotPrefix}-*`)],
        conditions: { StringEquals: { 'rds:snapshot-tag/managed-by': MANAGED_BY } },
      }),
    );
    fnRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Read-only listing; Describe* on snapshots is not scoped by name prefix.
        actions: ['rds:DescribeDBSnapshots', 'rds:DescribeDBInstances'],
        resources: ['*'],
      }),
    );
    // The schema-version tag is read from crm_meta.schema_migrations.
    database.grantSecretRead(fnRole, props.databaseKey);
    database.allowFrom(this.snapshotFunction, 'snapshot function (schema version)');
    acknowledge(
      fnRole.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'rds', `snapshot:${this.snapshotPrefix}-*`)}]`,
      "Snapshot names carry the slot time (<prefix>-YYYYMMDD-HHMM); the grant covers this project's prefix only, and deletion additionally requires the managed-by tag.",
    );

    this.schedule = new CrmSchedule(this, 'Schedule', {
      expression: backup.snapshotSchedule,
      timeZone: backup.timeZone,
      description: `CRM ${props.environmentName}: daily managed snapshot of ${database.instanceIdentifier}`,
      target: this.snapshotFunction.function,
      input: { scheduledTime: scheduler.ContextAttribute.scheduledTime, schedule: scheduleName },
      encryptionKey: props.encryptionKey,
    });

    if (backup.crossRegionCopy) {
      this.copyFunction = this.addCrossRegionCopy(props, backup.crossRegionCopy);
    }
    this.addAlarms(props);
  }

  private addCrossRegionCopy(
    props: DatabaseSnapshotsProps,
    copy: NonNullable<BackupConfig['crossRegionCopy']>,
  ): CrmFunction {
    const stack = Stack.of(this);
    const fn = new CrmFunction(this, 'CopyFunction', {
      entry: 'lambda/snapshot-copy/handler.ts',
      description: `Copies managed snapshots to ${copy.region} and prunes the copies`,
      vpc: props.vpc,
      memorySize: 256,
      timeout: Duration.minutes(2),
      reservedConcurrentExecutions: 2,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      // The destination region's RDS API has no endpoint in this VPC.
      allowHttpsToInternet: true,
      environment: {
        DB_INSTANCE_ID: props.database.instanceIdentifier,
        SNAPSHOT_PREFIX: this.snapshotPrefix,
        DESTINATION_REGION: copy.region,
        DESTINATION_KMS_KEY_ARN: copy.kmsKeyArn,
        RETENTION_DAYS: String(props.backup.retentionDays),
        MIN_KEEP: String(props.backup.minKeep),
        METRICS_NAMESPACE: props.metricsNamespace,
      },
    });
    const snapshots = (region: string) =>
      `arn:${stack.partition}:rds:${region}:${stack.account}:snapshot:${this.snapshotPrefix}-*`;
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['rds:CopyDBSnapshot'],
        resources: [snapshots(stack.region), snapshots(copy.region)],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['rds:AddTagsToResource'],
        resources: [snapshots(copy.region)],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['rds:DeleteDBSnapshot'],
        resources: [snapshots(copy.region)],
        conditions: { StringEquals: { 'rds:snapshot-tag/managed-by': MANAGED_BY } },
      }),
    );
    fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['rds:DescribeDBSnapshots'], resources: ['*'] }));
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Cross-region copy of an encrypted snapshot: decrypt with the source key, re-encrypt with the destination key.
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [props.databaseKey.keyArn, copy.kmsKeyArn],
      }),
    );
    acknowledge(
      fn.role.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'rds', `snapshot:${this.snapshotPrefix}-*`)}]`,
      "Copies keep the source snapshot's slot-time name; the grant covers this project's prefix only, and deletion additionally requires the managed-by tag.",
    );
    acknowledge(
      fn.role.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'rds', `snapshot:${this.snapshotPrefix}-*`, copy.region)}]`,
      "Copies in the destination region keep the source snapshot's slot-time name; the grant covers this project's prefix only, and deletion additionally requires the managed-by tag.",
    );
    // A literal name, so the DLQ key's policy can name the rule without a dependency cycle.
    const ruleName = `crm-${props.environmentName}-snapshot-created`;
    new events.Rule(this, 'SnapshotCreatedRule', {
      ruleName,
      description: 'Managed snapshot created: copy it to the destination region',
      eventPattern: {
        source: ['aws.rds'],
        detailType: ['RDS DB Snapshot Event'],
        detail: { EventID: ['RDS-EVENT-0042'], SourceIdentifier: [{ prefix: `${this.snapshotPrefix}-` }] },
      },
      targets: [
        new eventTargets.LambdaFunction(fn.function, {
          deadLetterQueue: fn.deadLetterQueue,
          retryAttempts: 3,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
    // EventBridge sends undeliverable events with the DLQ's key: the key policy must allow it.
    allowServiceToSendDeadLetters(
      fn.deadLetterQueue,
      'events.amazonaws.com',
      stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleName }),
    );
    return fn;
  }

  private addAlarms(props: DatabaseSnapshotsProps): void {
    const metric = (service: string, name: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: name,
        dimensionsMap: { service },
        statistic,
        period,
      });
    const action = new cwActions.SnsAction(props.alarmTopic);
    const add = (id: string, props2: cloudwatch.AlarmProps) => {
      const alarm = new cloudwatch.Alarm(this, id, props2);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push(alarm);
    };
    add('NoRecentSnapshotAlarm', {
      alarmDescription: 'No managed snapshot has succeeded for 26 hours',
      metric: metric('crm-snapshot', 'SnapshotSucceeded', 'Sum', Duration.hours(1)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 26,
      datapointsToAlarm: 26,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    add('SnapshotFailedAlarm', {
      alarmDescription: 'A scheduled snapshot or its pruning failed',
      metric: metric('crm-snapshot', 'SnapshotFailed', 'Sum', Duration.minutes(5)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    add('SnapshotQuotaAlarm', {
      alarmDescription: `Manual snapshots at 80 % of the quota (${props.backup.manualSnapshotQuota})`,
      metric: metric('crm-snapshot', 'ManualSnapshotCount', 'Maximum', Duration.hours(1)),
      threshold: Math.floor(props.backup.manualSnapshotQuota * 0.8),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Not the Errors metric: a run deferred by a busy instance fails on purpose so that Lambda's
    // asynchronous retry takes the slot later, and that must not page anyone. Real failures raise
    // SnapshotFailed at once; an event lands here only when every retry has failed too.
    add('SnapshotFunctionGaveUpAlarm', {
      alarmDescription:
        'The snapshot function failed on every retry of a scheduled run (see its log group; the event is in its dead-letter queue)',
      metric: this.snapshotFunction.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    add('SnapshotScheduleDeadLettersAlarm', {
      alarmDescription: 'A scheduled snapshot invocation was given up and sent to the dead-letter queue',
      metric: this.schedule.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (this.copyFunction) {
      add('SnapshotCopyFailedAlarm', {
        alarmDescription: 'A cross-region snapshot copy failed',
        metric: metric('crm-snapshot-copy', 'SnapshotCopyFailed', 'Sum', Duration.minutes(5)),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }
}
