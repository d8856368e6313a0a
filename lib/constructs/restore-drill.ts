import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledge, nagArn } from '../compliance';
import type { BackupConfig } from '../config/backup-config';
import type { ICrmDatabase } from './crm-database';
import { CrmFunction } from './crm-function';
import { CrmSchedule } from './crm-schedule';
import { createStateMachine } from './crm-state-machine';
import { addVerifyRetries, grantRestore, type RestoreWorkflow } from './restore-workflow';

export interface RestoreDrillProps {
  readonly environmentName: string;
  readonly vpc: ec2.IVpc;
  readonly database: ICrmDatabase;
  readonly databaseKey: kms.IKey;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly backup: BackupConfig;
  /** Status and verify functions are shared with the operators' restore workflow. */
  readonly restore: RestoreWorkflow;
  readonly snapshotPrefix: string;
  readonly alarmTopic: sns.ITopic;
  readonly metricsNamespace: string;
}

/** Days without a successful drill before the alarm fires. */
export const DRILL_MAX_AGE_DAYS = 35;

/**
 * A monthly restore drill: restore the newest managed snapshot into a drill instance, run the same
 * verification as a real restore, delete the drill instance (only ever an instance with the
 * drill prefix AND the drill tag), record success and duration. Alarms when a drill fails or none
 * has succeeded for 35 days (checked daily).
 */
export class RestoreDrill extends Construct {
  public readonly drillFunction: CrmFunction;
  public readonly stateMachine: sfn.StateMachine;
  public readonly drillPrefix: string;
  /** The drill workflow's time limit; the sweep leaves younger drill instances alone. */
  public readonly timeout: Duration;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: RestoreDrillProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { database } = props;
    this.drillPrefix = `${database.instanceIdentifier}-drill`;
    this.timeout = Duration.minutes(props.backup.restoreTimeoutMinutes + 30);
    const stateMachineName = `crm-${props.environmentName}-restore-drill`;

    this.drillFunction = new CrmFunction(this, 'DrillFunction', {
      entry: 'lambda/drill/handler.ts',
      description: 'Restore drill steps: pick the snapshot, restore, delete the drill instance, record',
      vpc: props.vpc,
      memorySize: 256,
      timeout: Duration.minutes(1),
      reservedConcurrentExecutions: 2,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      // Step Functions (for the freshness check) has no endpoint in this VPC.
      allowHttpsToInternet: true,
      environment: {
        DB_INSTANCE_ID: database.instanceIdentifier,
        SNAPSHOT_PREFIX: props.snapshotPrefix,
        DRILL_PREFIX: this.drillPrefix,
        METRICS_NAMESPACE: props.metricsNamespace,
        // The drill instance's RDS log groups are created encrypted, with retention, before the
        // restore (grantRestore allows it), and deleted with the instance.
        LOG_GROUP_KMS_KEY_ARN: props.encryptionKey.keyArn,
        LOG_RETENTION_DAYS: String(props.logRetention),
      },
      retryAttempts: 0,
    });
    const drillInstances = `${this.drillPrefix}-*`;
    grantRestore(this.drillFunction, database, props.databaseKey, drillInstances);
    const rds = (resource: string, name: string) =>
      stack.formatArn({ service: 'rds', resource, resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.drillFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Only drill instances, and only those tagged drill=true, can ever be deleted.
        actions: ['rds:DeleteDBInstance'],
        resources: [rds('db', drillInstances)],
        conditions: { StringEquals: { 'rds:db-tag/drill': 'true' } },
      }),
    );
    this.drillFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['rds:DeleteDBInstanceAutomatedBackup'],
        resources: [rds('auto-backup', '*')],
      }),
    );
    acknowledge(
      this.drillFunction.role.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'rds', 'auto-backup:*')}]`,
      'Deleting a drill instance also drops its automated backups, whose ids RDS generates; the instance itself must carry the drill prefix and tag.',
    );
    // RDS creates /aws/rds/instance/<id>/{postgresql,upgrade} for every instance that exports its
    // logs and keeps them forever; the drill deletes those of its own instances, and only those.
    const drillLogGroups = ['postgresql', 'upgrade'].map((log) =>
      stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        // `:*` is the log-group ARN form IAM uses for DeleteLogGroup.
        resourceName: `/aws/rds/instance/${drillInstances}/${log}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    this.drillFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['logs:DeleteLogGroup'], resources: drillLogGroups }),
    );
    for (const log of ['postgresql', 'upgrade']) {
      acknowledge(
        this.drillFunction.role.policy,
        `AwsSolutions-IAM5[Resource::${nagArn(stack, 'logs', `log-group:/aws/rds/instance/${drillInstances}/${log}:*`)}]`,
        'Drill instance ids carry a timestamp, so their RDS log groups are named by pattern; the pattern only matches log groups of drill-prefixed instances.',
      );
    }
    this.drillFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // The sweep lists /aws/rds/instance/<drill prefix>-* log groups to delete those of drill
        // instances that are gone (RDS re-creates a group while its instance is deleting). A
        // read-only listing; granted on "*" because resource-level support for it is not
        // documented consistently, and a wrong ARN would fail every sweep.
        actions: ['logs:DescribeLogGroups'],
        resources: ['*'],
      }),
    );
    acknowledge(
      this.drillFunction.role.policy,
      'AwsSolutions-IAM5[Resource::*]',
      'Besides the X-Ray and VPC network-interface actions every function has, only the read-only logs:DescribeLogGroups (listing the log groups of drill instances that no longer exist) is granted on "*".',
    );
    const machineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.drillFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:ListExecutions', 'states:DescribeStateMachine'],
        resources: [machineArn],
      }),
    );

    this.stateMachine = this.buildStateMachine(props, stateMachineName);

    new CrmSchedule(this, 'DrillSchedule', {
      expression: props.backup.drillSchedule,
      timeZone: props.backup.timeZone,
      description: `CRM ${props.environmentName}: monthly restore drill`,
      target: this.stateMachine,
      input: {},
      encryptionKey: props.encryptionKey,
      // A drill is not worth running late or twice: one attempt per slot.
      retryAttempts: 0,
    });
    this.addAlarms(props, machineArn);
  }

  private buildStateMachine(props: RestoreDrillProps, name: string): sfn.StateMachine {
    const timeout = this.timeout;
    const drill = (id: string, payload: Record<string, unknown>, resultPath: string) =>
      new tasks.LambdaInvoke(this, id, {
        lambdaFunction: this.drillFunction.function,
        payload: sfn.TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        resultPath,
      });
    const fail = new sfn.Fail(this, 'DrillFailed', { error: 'RestoreDrillFailed' });
    const recordFailure = drill('RecordFailure', { action: 'record', succeeded: false }, '$.record').next(fail);
    const cleanUp = drill(
      'DeleteDrillInstanceAfterError',
      { action: 'delete-instance', targetInstanceId: sfn.JsonPath.stringAt('$.restore.targetInstanceId') },
      '$.deletion',
    );
    cleanUp.next(recordFailure);
    // A failed clean-up must not hide the drill's failure: record it anyway (the next drill's
    // sweep deletes what is left), keeping the first error in $.error.
    cleanUp.addCatch(recordFailure, { resultPath: '$.cleanUpError' });

    // A drill that timed out (or whose clean-up failed) left its instance running: delete leftovers
    // older than this workflow's timeout first, so a drill still running is never touched.
    const sweep = drill('SweepLeftovers', { action: 'sweep', minAgeMinutes: timeout.toMinutes() }, '$.sweep');
    sweep.addCatch(recordFailure, { resultPath: '$.error' });
    const pick = drill('PickSnapshot', { action: 'pick-snapshot' }, '$.snapshot');
    pick.addCatch(recordFailure, { resultPath: '$.error' });
    const restore = drill(
      'RestoreDrillInstance',
      { action: 'restore', snapshotId: sfn.JsonPath.stringAt('$.snapshot.snapshotId') },
      '$.restore',
    );
    restore.addCatch(recordFailure, { resultPath: '$.error' });
    const status = new tasks.LambdaInvoke(this, 'CheckStatus', {
      lambdaFunction: props.restore.statusFunction.function,
      payload: sfn.TaskInput.fromObject({ targetInstanceId: sfn.JsonPath.stringAt('$.restore.targetInstanceId') }),
      payloadResponseOnly: true,
      // Inside the verification input, so Verify receives the endpoint with it.
      resultPath: '$.restore.verificationInput.status',
    });
    status.addCatch(cleanUp, { resultPath: '$.error' });
    // InputPath, not `payload`: with payloadResponseOnly, TaskInput.fromJsonPathAt renders the path
    // as a literal string (`"Parameters": "$.restore.verificationInput"`, aws/aws-cdk#34260).
    const verify = new tasks.LambdaInvoke(this, 'Verify', {
      lambdaFunction: props.restore.verifyFunction.function,
      inputPath: '$.restore.verificationInput',
      payloadResponseOnly: true,
      resultPath: '$.verification',
    });
    addVerifyRetries(verify);
    verify.addCatch(cleanUp, { resultPath: '$.error' });
    const deleteInstance = drill(
      'DeleteDrillInstance',
      { action: 'delete-instance', targetInstanceId: sfn.JsonPath.stringAt('$.restore.targetInstanceId') },
      '$.deletion',
    );
    // The drill verified, but its instance is still there: a failure to act on (the sweep of the
    // next drill deletes it).
    deleteInstance.addCatch(recordFailure, { resultPath: '$.cleanUpError' });
    const record = drill(
      'RecordResult',
      {
        action: 'record',
        succeeded: sfn.JsonPath.stringAt('$.verification.ok'),
        restoreStartedAt: sfn.JsonPath.stringAt('$.restore.restoreStartedAt'),
      },
      '$.record',
    );
    const wait = new sfn.Wait(this, 'WaitForInstance', { time: sfn.WaitTime.duration(Duration.minutes(1)) });
    const definition = sweep
      .next(pick)
      .next(restore)
      .next(status)
      .next(
        new sfn.Choice(this, 'InstanceReady?')
          .when(
            sfn.Condition.booleanEquals('$.restore.verificationInput.status.available', true),
            verify
              .next(deleteInstance)
              .next(record)
              .next(
                new sfn.Choice(this, 'Verified?')
                  .when(sfn.Condition.booleanEquals('$.verification.ok', true), new sfn.Succeed(this, 'DrillSucceeded'))
                  .otherwise(fail),
              ),
          )
          .when(sfn.Condition.booleanEquals('$.restore.verificationInput.status.failed', true), cleanUp)
          .otherwise(wait.next(status)),
      );
    return createStateMachine(this, {
      stateMachineName: name,
      description: 'Restore drill workflow',
      definition,
      timeout,
      taskFunctions: [this.drillFunction, props.restore.statusFunction, props.restore.verifyFunction],
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
    });
  }

  private addAlarms(props: RestoreDrillProps, machineArn: string): void {
    const action = new cwActions.SnsAction(props.alarmTopic);
    const metric = (name: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: name,
        dimensionsMap: { service: 'crm-restore-drill' },
        statistic,
        period,
      });
    const failed = new cloudwatch.Alarm(this, 'DrillFailedAlarm', {
      alarmDescription: 'A restore drill failed: the newest snapshot could not be restored and verified',
      metric: metric('DrillFailed', 'Sum', Duration.hours(1)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const stale = new cloudwatch.Alarm(this, 'NoRecentDrillAlarm', {
      alarmDescription: `No restore drill has succeeded for ${DRILL_MAX_AGE_DAYS} days (or the daily check stopped reporting)`,
      metric: metric('DaysSinceLastDrillSuccess', 'Maximum', Duration.days(1)),
      threshold: DRILL_MAX_AGE_DAYS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    for (const a of [failed, stale]) {
      a.addAlarmAction(action);
      this.alarms.push(a);
    }
    // A drill that timed out or failed its clean-up leaves an instance running: sweep daily, not
    // only at the next monthly drill. Same guard as the drill's own first step (prefix, tag,
    // older than the workflow's timeout).
    new CrmSchedule(this, 'SweepSchedule', {
      expression: 'cron(30 6 * * ? *)',
      timeZone: props.backup.timeZone,
      description: `CRM ${props.environmentName}: delete leftovers of earlier restore drills`,
      target: this.drillFunction.function,
      input: { action: 'sweep', minAgeMinutes: this.timeout.toMinutes() },
      encryptionKey: props.encryptionKey,
    });
    // Alarms cannot look back 35 days, so a daily check publishes the age of the last success.
    new CrmSchedule(this, 'FreshnessSchedule', {
      expression: 'cron(0 6 * * ? *)',
      timeZone: props.backup.timeZone,
      description: `CRM ${props.environmentName}: days since the last successful restore drill`,
      target: this.drillFunction.function,
      input: { action: 'check-freshness', stateMachineArn: machineArn },
      encryptionKey: props.encryptionKey,
    });
  }
}
