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
import { ErrorNames } from '../../contracts/errors';
import { acknowledge, nagArn } from '../compliance';
import type { ICrmDatabase } from './crm-database';
import { CrmFunction } from './crm-function';
import { createStateMachine } from './crm-state-machine';

export interface RestoreWorkflowProps {
  readonly environmentName: string;
  readonly vpc: ec2.IVpc;
  readonly database: ICrmDatabase;
  readonly databaseKey: kms.IKey;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** Topic receiving verification reports and failures. */
  readonly reportTopic: sns.ITopic;
  readonly alarmTopic: sns.ITopic;
  readonly metricsNamespace: string;
  /** How long verification waits for the restored instance before failing. */
  readonly timeout: Duration;
}

/**
 * Errors a verify step may raise transiently (the restored instance still warming up), by the
 * names the functions' error classes carry.
 */
export const TRANSIENT_VERIFY_ERRORS: string[] = [ErrorNames.DatabaseUnavailable];

/**
 * The Verify task's retries, one definition for the restore workflow and the drill: the database
 * still warming up (our own error name, from the contracts), and Lambda refusing the invocation
 * because the verify function's reserved concurrency is taken by another restore or a drill.
 */
export function addVerifyRetries(verify: tasks.LambdaInvoke): void {
  verify.addRetry({ errors: TRANSIENT_VERIFY_ERRORS, interval: Duration.seconds(30), maxAttempts: 4, backoffRate: 2 });
  verify.addRetry({
    errors: ['Lambda.TooManyRequestsException'],
    interval: Duration.seconds(30),
    maxAttempts: 6,
    backoffRate: 2,
  });
}

/**
 * Restore into a NEW instance and prove it works: the operators' restore function validates and
 * plans before any change, restores with the live instance's settings, and starts the
 * verification workflow, which waits for the instance, connects over TLS, compares the migration
 * history with this version's migrations, counts rows and runs sanity queries, then reports to
 * SNS and metrics (`RestoreDurationSeconds` is the measured RTO).
 */
export class RestoreWorkflow extends Construct {
  public readonly restoreFunction: CrmFunction;
  public readonly statusFunction: CrmFunction;
  public readonly verifyFunction: CrmFunction;
  public readonly stateMachine: sfn.StateMachine;
  /** Prefix every restore target must carry (`crm-<env>-`), so IAM can scope the new instances. */
  public readonly targetPrefix: string;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: RestoreWorkflowProps) {
    super(scope, id);
    const { database } = props;
    this.targetPrefix = `${database.instanceIdentifier}-`;

    this.statusFunction = new CrmFunction(this, 'StatusFunction', {
      entry: 'lambda/restore-verify/status-handler.ts',
      description: 'Reports the status of a restored instance to the verification workflow',
      vpc: props.vpc,
      memorySize: 256,
      timeout: Duration.seconds(30),
      reservedConcurrentExecutions: 5,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
    });
    this.statusFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['rds:DescribeDBInstances'], resources: ['*'] }),
    );

    this.verifyFunction = new CrmFunction(this, 'VerifyFunction', {
      entry: 'lambda/restore-verify/handler.ts',
      description: "Verifies a restored database against this version's migrations and sanity checks",
      vpc: props.vpc,
      memorySize: 512,
      timeout: Duration.minutes(5),
      reservedConcurrentExecutions: 2,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      copyIntoBundle: [{ from: 'lambda/migrate/migrations', to: 'migrations' }],
      environment: {
        DB_SECRET_ARN: database.secret.secretArn,
        DB_NAME: database.databaseName,
        VERIFY_TOPIC_ARN: props.reportTopic.topicArn,
        METRICS_NAMESPACE: props.metricsNamespace,
      },
    });
    database.grantSecretRead(this.verifyFunction.role, props.databaseKey);
    props.reportTopic.grantPublish(this.verifyFunction.role);
    // Restored instances get the live instance's security groups, so this rule admits the verify
    // function to them too.
    database.allowFrom(this.verifyFunction, 'restore verification');

    this.stateMachine = this.buildStateMachine(props);
    // The SnsPublish task grants only sns:Publish; the topic is KMS-encrypted, and grantPublish
    // includes the key (kms:GenerateDataKey*, kms:Decrypt).
    props.reportTopic.grantPublish(this.stateMachine);
    acknowledge(
      this.stateMachine.role.node.findChild('Policy'),
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'CDK grants publishing to the KMS-encrypted topic with the GenerateDataKey* family; the resource is the single project key.',
    );

    this.restoreFunction = new CrmFunction(this, 'RestoreFunction', {
      entry: 'lambda/restore/handler.ts',
      description: 'Operators: restores a snapshot or point in time into a NEW instance and starts verification',
      vpc: props.vpc,
      memorySize: 256,
      timeout: Duration.minutes(1),
      reservedConcurrentExecutions: 2,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      // Step Functions has no endpoint in this VPC.
      allowHttpsToInternet: true,
      environment: {
        DB_INSTANCE_ID: database.instanceIdentifier,
        VERIFY_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
        // The restore creates the new instance's RDS log groups with this key and retention.
        LOG_GROUP_KMS_KEY_ARN: props.encryptionKey.keyArn,
        LOG_RETENTION_DAYS: String(props.logRetention),
      },
      retryAttempts: 0,
    });
    grantRestore(this.restoreFunction, database, props.databaseKey, `${this.targetPrefix}*`);
    this.stateMachine.grantStartExecution(this.restoreFunction.role);

    this.addAlarms(props);
  }

  private buildStateMachine(props: RestoreWorkflowProps): sfn.StateMachine {
    const status = new tasks.LambdaInvoke(this, 'CheckStatus', {
      lambdaFunction: this.statusFunction.function,
      payload: sfn.TaskInput.fromObject({ targetInstanceId: sfn.JsonPath.stringAt('$.targetInstanceId') }),
      payloadResponseOnly: true,
      resultPath: '$.status',
    });
    const notifyFailure = new tasks.SnsPublish(this, 'NotifyFailure', {
      topic: props.reportTopic,
      subject: `CRM ${props.environmentName}: restore verification failed`,
      // SNS Publish takes the message as a string: serialise the state explicitly.
      message: sfn.TaskInput.fromJsonPathAt(sfn.JsonPath.jsonToString(sfn.JsonPath.entirePayload)),
      resultPath: sfn.JsonPath.DISCARD,
    });
    const failed = new sfn.Fail(this, 'VerificationFailed', { error: 'RestoreVerificationFailed' });
    notifyFailure.next(failed);
    // No `payload`: with payloadResponseOnly, TaskInput.fromJsonPathAt renders the path as a literal
    // string (`"Parameters": "$"`, aws/aws-cdk#34260), so Verify would get "$". Without Parameters,
    // Step Functions passes the state's whole input.
    const verify = new tasks.LambdaInvoke(this, 'Verify', {
      lambdaFunction: this.verifyFunction.function,
      payloadResponseOnly: true,
      resultPath: '$.verification',
    });
    addVerifyRetries(verify);
    verify.addCatch(notifyFailure, { resultPath: '$.error' });
    status.addCatch(notifyFailure, { resultPath: '$.error' });
    const wait = new sfn.Wait(this, 'WaitForInstance', { time: sfn.WaitTime.duration(Duration.minutes(1)) });
    const definition = status.next(
      new sfn.Choice(this, 'InstanceReady?')
        .when(
          sfn.Condition.booleanEquals('$.status.available', true),
          verify.next(
            new sfn.Choice(this, 'Verified?')
              .when(sfn.Condition.booleanEquals('$.verification.ok', true), new sfn.Succeed(this, 'Verified'))
              .otherwise(failed),
          ),
        )
        .when(sfn.Condition.booleanEquals('$.status.failed', true), notifyFailure)
        .otherwise(wait.next(status)),
    );
    return createStateMachine(this, {
      stateMachineName: `crm-${props.environmentName}-restore-verify`,
      description: 'Restore verification workflow',
      definition,
      timeout: props.timeout,
      taskFunctions: [this.statusFunction, this.verifyFunction],
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
    });
  }

  private addAlarms(props: RestoreWorkflowProps): void {
    const action = new cwActions.SnsAction(props.alarmTopic);
    const alarm = (id: string, description: string, metric: cloudwatch.IMetric) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      this.alarms.push(a);
    };
    alarm(
      'VerificationFailedAlarm',
      'A restored database failed verification (schema, row counts or sanity checks)',
      new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: 'RestoreVerificationFailed',
        dimensionsMap: { service: 'crm-restore-verify' },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
    );
    alarm(
      'WorkflowFailedAlarm',
      'The restore verification workflow failed or timed out',
      this.stateMachine.metricFailed({ period: Duration.minutes(5) }),
    );
    alarm(
      'WorkflowTimedOutAlarm',
      'The restored instance did not become available within the configured time',
      this.stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
    );
  }
}

/** The log exports of the live instance (CrmDatabase `cloudwatchLogsExports`), so of restored instances. */
const RESTORED_LOG_TYPES = ['postgresql', 'upgrade'] as const;

/**
 * Permission to restore the live instance's snapshots and backups into new instances whose
 * names match `targetPattern` (never the live instance itself), with its key, subnet group and
 * parameter/option groups, and to tag them.
 */
export function grantRestore(
  fn: CrmFunction,
  database: ICrmDatabase,
  databaseKey: kms.IKey,
  targetPattern: string,
): void {
  const stack = Stack.of(fn);
  const rds = (resource: string, resourceName: string) =>
    stack.formatArn({ service: 'rds', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['rds:RestoreDBInstanceFromDBSnapshot', 'rds:RestoreDBInstanceToPointInTime'],
      resources: [
        rds('db', targetPattern),
        rds('db', database.instanceIdentifier),
        rds('snapshot', '*'),
        rds('subgrp', '*'),
        rds('pg', '*'),
        rds('og', '*'),
      ],
    }),
  );
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['rds:AddTagsToResource'], resources: [rds('db', targetPattern)] }),
  );
  // The restore pre-creates the new instance's export log groups (KMS-encrypted, with retention)
  // before RDS would create them unencrypted and kept forever: only those of target instances.
  // CloudWatch Logs authorises every action but tagging against `log-group:<name>:*`.
  const logGroups = RESTORED_LOG_TYPES.map((log) => `/aws/rds/instance/${targetPattern}/${log}:*`);
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'],
      resources: logGroups.map((name) =>
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: name,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    }),
  );
  for (const name of logGroups) {
    acknowledge(
      fn.role.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'logs', `log-group:${name}`)}]`,
      'RDS names the export log groups of an instance /aws/rds/instance/<instance>/<log>; the grant covers only those of new instances under the restore prefix (never the live instance) and only creating them and setting their retention.',
    );
  }
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      // Read-only lookups of the live instance, snapshots and automated backups.
      actions: ['rds:DescribeDBInstances', 'rds:DescribeDBSnapshots', 'rds:DescribeDBInstanceAutomatedBackups'],
      resources: ['*'],
    }),
  );
  fn.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      // RDS creates a grant on the database key for the new, encrypted instance.
      actions: ['kms:CreateGrant', 'kms:DescribeKey'],
      resources: [databaseKey.keyArn],
    }),
  );
  const reason =
    'Restores read any snapshot of the live instance (manual or automated, whose names RDS generates) and reference its subnet, parameter and option groups by generated name; new instances are limited to the restore prefix and the live instance is never a target.';
  for (const [resource, name] of [
    ['db', targetPattern],
    ['snapshot', '*'],
    ['subgrp', '*'],
    ['pg', '*'],
    ['og', '*'],
  ]) {
    acknowledge(fn.role.policy, `AwsSolutions-IAM5[Resource::${nagArn(stack, 'rds', `${resource}:${name}`)}]`, reason);
  }
}
