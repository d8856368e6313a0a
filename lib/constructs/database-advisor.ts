import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { acknowledge } from '../compliance';
import type { AdvisorConfig } from '../config';
import { type ICrmDatabase, MONITOR_DB_USER } from './crm-database';
import { CrmFunction } from './crm-function';
import { CrmSchedule } from './crm-schedule';
import { SecureTopic } from './secure-topic';

/** The `service` dimension the advisor publishes its metrics with (Powertools serviceName). */
export const ADVISOR_SERVICE = 'database-advisor';

export interface DatabaseAdvisorProps {
  readonly environmentName: string;
  readonly vpc: ec2.IVpc;
  readonly database: ICrmDatabase;
  /** Instance class of the database (memory for the pgtune-style advice). */
  readonly instanceClass: string;
  readonly advisor: AdvisorConfig;
  /** Key for the function, the report bucket, the report topic and the schedule's DLQ. */
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** Addresses the weekly summary is mailed to. */
  readonly emails: readonly string[];
  /** CloudWatch namespace the advisor publishes to. */
  readonly metricsNamespace: string;
}

/**
 * The weekly database advisor (lambda/advisor, docs/advisor.md): a function in the VPC that
 * connects to the instance as `crm_monitor` with IAM auth, writes its report to an encrypted,
 * versioned, TLS-only bucket whose reports expire, publishes key figures as metrics and mails a
 * summary through its own topic.
 *
 * The summary goes to a separate reports topic, not the alarm topic: a weekly report is not a
 * page, and whatever is subscribed to the alarm topic (on-call tooling) should only receive
 * alarms. A high-severity finding still pages, through the `FindingsHigh` alarm (CrmMonitoring).
 */
export class DatabaseAdvisor extends Construct {
  public readonly advisorFunction: CrmFunction;
  public readonly reportBucket: s3.Bucket;
  public readonly accessLogBucket: s3.Bucket;
  public readonly reportTopic: SecureTopic;
  public readonly schedule: CrmSchedule;
  /** Key prefix the function may write under. */
  public readonly reportPrefix: string;
  private readonly metricsNamespace: string;
  private readonly environmentName: string;

  constructor(scope: Construct, id: string, props: DatabaseAdvisorProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { database } = props;
    this.metricsNamespace = props.metricsNamespace;
    this.environmentName = props.environmentName;
    this.reportPrefix = `reports/${props.environmentName}/`;

    // S3 server access logs can only be delivered to a bucket with SSE-S3 (not SSE-KMS).
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.advisor.reportRetentionDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.accessLogBucket.node.defaultChild!,
      'AwsSolutions-S1',
      "This bucket is the server-access-log target of the advisor's report bucket; logging it into itself would log its own log deliveries without end.",
    );
    acknowledge(
      this.accessLogBucket.node.defaultChild!,
      'NIST.800.53.R5-S3BucketLoggingEnabled',
      "This bucket is the server-access-log target of the advisor's report bucket; logging it into itself would log its own log deliveries without end.",
    );
    for (const id of [
      'NIST.800.53.R5-S3DefaultEncryptionKMS',
      'cdk-validator-cfnguard::s3_bucket_default_encryption_kms_check',
    ]) {
      acknowledge(
        this.accessLogBucket.node.defaultChild!,
        id,
        'S3 server access log delivery supports only SSE-S3 on the target bucket; the logs hold request metadata, not report contents.',
      );
    }
    acknowledge(
      this.accessLogBucket.node.defaultChild!,
      'cdk-validator-cfnguard::s3_bucket_logging_enabled_check',
      "This bucket is the server-access-log target of the advisor's report bucket; logging it into itself would log its own log deliveries without end.",
    );

    this.reportBucket = new s3.Bucket(this, 'ReportBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-reports',
          prefix: 'reports/',
          expiration: Duration.days(props.advisor.reportRetentionDays),
          noncurrentVersionExpiration: Duration.days(1),
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Server access logging with a bucket policy for the logging service (no ACLs: both buckets
    // enforce bucket-owner ownership). This is what `serverAccessLogsBucket` does under the
    // `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy` flag, which this app does not set.
    const logPrefix = 'report-bucket/';
    (this.reportBucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
      destinationBucketName: this.accessLogBucket.bucketName,
      logFilePrefix: logPrefix,
    };
    this.accessLogBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowS3ServerAccessLogs',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.accessLogBucket.arnForObjects(`${logPrefix}*`)],
        conditions: {
          ArnLike: { 'aws:SourceArn': this.reportBucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    for (const bucket of [this.reportBucket, this.accessLogBucket]) {
      const cfn = bucket.node.defaultChild as s3.CfnBucket;
      // Object events go to EventBridge (set directly: `eventBridgeEnabled` would add CDK's
      // notification Lambda outside the VPC), so anyone can react to a new report or log.
      cfn.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };
      acknowledge(
        cfn,
        'cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check',
        'Reports and access logs are derived data that expire by lifecycle; the bucket is versioned and no role of this app may delete objects in it, so Object Lock would only block the configured expiry.',
      );
      acknowledge(
        bucket.node.defaultChild!,
        'NIST.800.53.R5-S3BucketReplicationEnabled',
        'Advisor reports are regenerated every week from the live database and expire anyway; a cross-region replica would keep nothing that cannot be recreated.',
      );
    }

    this.reportTopic = new SecureTopic(this, 'Reports', {
      displayName: `CRM ${props.environmentName} database advisor`,
      encryptionKey: props.encryptionKey,
      emails: props.emails,
    });

    this.advisorFunction = new CrmFunction(this, 'AdvisorFunction', {
      entry: 'lambda/advisor/handler.ts',
      description: 'Weekly database advisor: query, index, vacuum and parameter health report',
      vpc: props.vpc,
      memorySize: 256,
      timeout: Duration.minutes(3),
      reservedConcurrentExecutions: 1,
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      // S3 is reached through the VPC's gateway endpoint, whose addresses are the regional S3
      // prefix list, not the VPC CIDR. Its id can only be looked up against an account
      // (`PrefixList.fromLookup`) and synth must work offline, so the group allows HTTPS out;
      // the route table still sends S3 traffic through the gateway endpoint, and SNS goes to
      // its interface endpoint inside the VPC.
      allowHttpsToInternet: true,
      environment: {
        DB_HOST: database.instance.dbInstanceEndpointAddress,
        DB_PORT: String(database.port),
        DB_NAME: database.databaseName,
        DB_USER: MONITOR_DB_USER,
        REPORT_BUCKET: this.reportBucket.bucketName,
        REPORT_KMS_KEY_ARN: props.encryptionKey.keyArn,
        REPORT_TOPIC_ARN: this.reportTopic.topic.topicArn,
        ENVIRONMENT: props.environmentName,
        INSTANCE_CLASS: props.instanceClass,
        METRICS_NAMESPACE: props.metricsNamespace,
      },
      // The schedule retries; a failed report is simply produced again the next week.
      retryAttempts: 0,
    });
    database.allowFrom(this.advisorFunction, 'database advisor');

    const role = this.advisorFunction.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Direct IAM auth to the instance as the pg_monitor role only (not the proxy, not crm_app).
        actions: ['rds-db:connect'],
        resources: [database.dbUserArn(MONITOR_DB_USER)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // Writes reports/<env>/<timestamp>.json|.txt only; it never reads or deletes reports.
        actions: ['s3:PutObject'],
        resources: [this.reportBucket.arnForObjects(`${this.reportPrefix}*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sns:Publish'],
        resources: [this.reportTopic.topic.topicArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        // SSE-KMS objects and the encrypted topic: data keys from the ops key, only through S3 and SNS.
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': [`s3.${stack.region}.amazonaws.com`, `sns.${stack.region}.amazonaws.com`],
          },
        },
      }),
    );
    const bucketId = stack.getLogicalId(this.reportBucket.node.defaultChild as s3.CfnBucket);
    acknowledge(
      role.policy,
      `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${this.reportPrefix}*]`,
      "Report keys carry the run's timestamp (reports/<env>/<timestamp>.json|.txt); PutObject is limited to this environment's prefix in the one report bucket.",
    );

    this.schedule = new CrmSchedule(this, 'Schedule', {
      expression: props.advisor.schedule,
      timeZone: props.advisor.timeZone,
      description: `CRM ${props.environmentName}: weekly database advisor report for ${database.instanceIdentifier}`,
      target: this.advisorFunction.function,
      input: { scheduledTime: scheduler.ContextAttribute.scheduledTime },
      encryptionKey: props.encryptionKey,
      // One attempt more is enough for a weekly report; a report hours late is still useful.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
    });
  }

  /** One of the advisor's metrics (docs/advisor.md), e.g. `FindingsHigh`. */
  public metric(metricName: string, statistic = 'Maximum', period: Duration = Duration.hours(1)): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.metricsNamespace,
      metricName,
      dimensionsMap: { service: ADVISOR_SERVICE, Environment: this.environmentName },
      statistic,
      period,
    });
  }
}
