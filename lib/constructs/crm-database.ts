import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge, nagArn } from '../compliance';
import type { EnvironmentConfig } from '../config';
import { ManagedPolicyRole } from './function-role';

export interface CrmDatabaseProps {
  readonly vpc: ec2.IVpc;
  /** The Secrets Manager interface endpoint, for the rotation function. */
  readonly secretsManagerEndpoint: ec2.IInterfaceVpcEndpoint;
  /** Key for storage, the master secret, Performance Insights and the log exports. */
  readonly encryptionKey: kms.IKey;
  /** Environment name; the instance is `crm-<name>`. */
  readonly environmentName: string;
  readonly database: EnvironmentConfig['database'];
  readonly logRetention: logs.RetentionDays;
  /** Topic receiving RDS events (failure, maintenance, configuration change, low storage). */
  readonly eventTopic: sns.ITopic;
}

/** The PostgreSQL engine every environment runs. */
export const POSTGRES_ENGINE = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_18 });

/** User the API connects as (DML only), created by the migrations. */
export const APP_DB_USER = 'crm_app';
/** User the database advisor connects as (pg_monitor), created by the migrations. */
export const MONITOR_DB_USER = 'crm_monitor';

/**
 * The CRM's PostgreSQL 18 on RDS: encrypted, private, TLS-only, IAM auth, rotated master secret,
 * RDS Proxy for the API, log exports to encrypted log groups, enhanced monitoring, Database
 * Insights, and events to a topic. The security group admits only the consumers granted through
 * `allowFrom` on the database port.
 */
export class CrmDatabase extends Construct {
  public readonly instance: rds.DatabaseInstance;
  public readonly secret: secretsmanager.ISecret;
  public readonly proxy: rds.DatabaseProxy;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly proxySecurityGroup: ec2.SecurityGroup;
  public readonly parameterGroup: rds.ParameterGroup;
  public readonly subnetGroup: rds.SubnetGroup;
  public readonly instanceIdentifier: string;
  /** Name of the RDS Proxy (a literal, so metrics in other stacks need no import). */
  public readonly proxyName: string;
  public readonly port: number;
  public readonly databaseName: string;

  constructor(scope: Construct, id: string, props: CrmDatabaseProps) {
    super(scope, id);
    const cfg = props.database;
    this.instanceIdentifier = `crm-${props.environmentName}`;
    this.proxyName = `crm-${props.environmentName}`;
    this.port = cfg.port;
    this.databaseName = cfg.databaseName;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'CRM database: admits only its granted consumers on the database port',
      allowAllOutbound: false,
    });

    this.parameterGroup = new rds.ParameterGroup(this, 'ParameterGroup', {
      engine: POSTGRES_ENGINE,
      description: `CRM ${props.environmentName}: TLS only, pg_stat_statements, slow-query logging`,
      parameters: {
        'rds.force_ssl': '1',
        shared_preload_libraries: 'pg_stat_statements',
        'pg_stat_statements.track': 'top',
        log_min_duration_statement: String(cfg.parameters.logMinDurationStatementMs),
        idle_in_transaction_session_timeout: String(cfg.parameters.idleInTransactionSessionTimeoutMs),
        statement_timeout: String(cfg.parameters.statementTimeoutMs),
        random_page_cost: String(cfg.parameters.randomPageCost),
        // Memory overrides only when configured (units: 8 kB pages, or kB for the *_mem ones).
        ...(cfg.parameters.sharedBuffersMb !== undefined
          ? { shared_buffers: String(cfg.parameters.sharedBuffersMb * 128) }
          : {}),
        ...(cfg.parameters.effectiveCacheSizeMb !== undefined
          ? { effective_cache_size: String(cfg.parameters.effectiveCacheSizeMb * 128) }
          : {}),
        ...(cfg.parameters.workMemMb !== undefined ? { work_mem: String(cfg.parameters.workMemMb * 1024) } : {}),
        ...(cfg.parameters.maintenanceWorkMemMb !== undefined
          ? { maintenance_work_mem: String(cfg.parameters.maintenanceWorkMemMb * 1024) }
          : {}),
        // PostgreSQL 18 made log_connections a list of aspects; these three are what the old
        // boolean 'on' logged (setup_durations would add timing lines on every connection).
        log_connections: 'receipt,authentication,authorization',
        log_disconnections: '1',
        log_lock_waits: '1',
      },
    });

    this.subnetGroup = new rds.SubnetGroup(this, 'SubnetGroup', {
      vpc: props.vpc,
      description: `CRM ${props.environmentName}: isolated subnets`,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Created before the instance so RDS writes into encrypted groups with our retention,
    // instead of CDK's log-retention helper Lambda (which would run outside the VPC).
    // RDS fixes their names, so a retained group blocks the next deployment of a torn-down
    // environment ("already exists"): an instance without deletion protection (a disposable
    // environment, dev) takes its logs with it; a protected one (prod) keeps them.
    const exportGroups = ['postgresql', 'upgrade'].map(
      (name) =>
        new logs.LogGroup(this, `${name[0].toUpperCase()}${name.slice(1)}LogGroup`, {
          logGroupName: `/aws/rds/instance/${this.instanceIdentifier}/${name}`,
          encryptionKey: props.encryptionKey,
          retention: props.logRetention,
          removalPolicy: cfg.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        }),
    );

    const monitoringRole = new ManagedPolicyRole(this, 'MonitoringRole', {
      assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com'),
      description: 'RDS enhanced monitoring',
    });
    // What AmazonRDSEnhancedMonitoringRole allows, limited to this account and region.
    const stack = Stack.of(this);
    const osMetrics = `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:RDSOSMetrics`;
    monitoringRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'],
        resources: [`${osMetrics}:*`],
      }),
    );
    monitoringRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:GetLogEvents'],
        resources: [`${osMetrics}:log-stream:*`],
      }),
    );

    const advanced = cfg.databaseInsights === 'advanced';
    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      engine: POSTGRES_ENGINE,
      instanceIdentifier: this.instanceIdentifier,
      instanceType: new ec2.InstanceType(cfg.instanceClass),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      subnetGroup: this.subnetGroup,
      securityGroups: [this.securityGroup],
      port: cfg.port,
      publiclyAccessible: false,
      databaseName: cfg.databaseName,
      credentials: rds.Credentials.fromGeneratedSecret(cfg.masterUsername, {
        secretName: `crm/${props.environmentName}/db-master`,
        encryptionKey: props.encryptionKey,
      }),
      storageEncrypted: true,
      storageEncryptionKey: props.encryptionKey,
      storageType: rds.StorageType.GP3,
      allocatedStorage: cfg.allocatedStorageGiB,
      maxAllocatedStorage: cfg.maxAllocatedStorageGiB,
      multiAz: cfg.multiAz,
      iamAuthentication: true,
      parameterGroup: this.parameterGroup,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      backupRetention: Duration.days(cfg.backupRetentionDays),
      copyTagsToSnapshot: true,
      deleteAutomatedBackups: false,
      deletionProtection: cfg.deletionProtection,
      // SNAPSHOT sets both DeletionPolicy and UpdateReplacePolicy: a final snapshot is always taken.
      removalPolicy: cfg.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.SNAPSHOT,
      monitoringInterval: Duration.seconds(cfg.monitoringIntervalSeconds),
      monitoringRole,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
      enablePerformanceInsights: true,
      performanceInsightEncryptionKey: props.encryptionKey,
      performanceInsightRetention: advanced
        ? rds.PerformanceInsightRetention.MONTHS_15
        : rds.PerformanceInsightRetention.DEFAULT,
      databaseInsightsMode: advanced ? rds.DatabaseInsightsMode.ADVANCED : rds.DatabaseInsightsMode.STANDARD,
      autoMinorVersionUpgrade: true,
      preferredBackupWindow: '02:00-03:00',
      preferredMaintenanceWindow: 'sun:03:30-sun:04:30',
    });
    for (const group of exportGroups) this.instance.node.addDependency(group);
    this.secret = this.instance.secret!;

    // Rotation runs in the VPC, reaching Secrets Manager through its interface endpoint.
    const rotationSecurityGroup = new ec2.SecurityGroup(this, 'RotationSecurityGroup', {
      vpc: props.vpc,
      description: 'CRM master secret rotation function',
      allowAllOutbound: false,
    });
    rotationSecurityGroup.addEgressRule(
      ec2.Peer.ipv4(props.vpc.vpcCidrBlock),
      ec2.Port.tcp(443),
      'Secrets Manager endpoint',
    );
    this.instance.addRotationSingleUser({
      automaticallyAfter: Duration.days(cfg.secretRotationDays),
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      endpoint: props.secretsManagerEndpoint,
      securityGroup: rotationSecurityGroup,
    });
    // addRotationSingleUser already admitted the rotation group (see pinDatabasePort).

    // RDS Proxy for the API: TLS required, end-to-end IAM auth (no stored password for crm_app).
    this.proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc: props.vpc,
      description: 'CRM RDS Proxy: admits the API function, reaches only the database',
      allowAllOutbound: false,
    });
    const proxyRole = new ManagedPolicyRole(this, 'ProxyRole', {
      assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
      description: 'CRM RDS Proxy: signs in to the database as crm_app with IAM',
    });
    this.proxy = new rds.DatabaseProxy(this, 'Proxy', {
      role: proxyRole,
      proxyTarget: rds.ProxyTarget.fromInstance(this.instance),
      dbProxyName: this.proxyName,
      vpc: props.vpc,
      // The proxy listens on PostgreSQL's default port; its clients live in the private subnets.
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.proxySecurityGroup],
      requireTLS: true,
      iamAuth: true,
      defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH,
      maxConnectionsPercent: cfg.proxy.maxConnectionsPercent,
      maxIdleConnectionsPercent: cfg.proxy.maxIdleConnectionsPercent,
      idleClientTimeout: Duration.seconds(cfg.proxy.idleClientTimeoutSeconds),
      debugLogging: false,
    });
    // The proxy target binding already admitted the proxy group (see pinDatabasePort).
    // AWS::RDS::DBProxyTargetGroup has no Tags in the resource schema of some regions, which then
    // reject the stack; CDK's tag aspect would add the stage's tags to it.
    (this.proxy.node.findChild('ProxyTargetGroup') as rds.CfnDBProxyTargetGroup).addPropertyDeletionOverride('Tags');
    // End-to-end IAM: the proxy itself signs in to the database as crm_app, and only as crm_app.
    proxyRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['rds-db:connect'],
        resources: [this.dbUserArn(APP_DB_USER)],
      }),
    );

    new rds.CfnEventSubscription(this, 'EventSubscription', {
      snsTopicArn: props.eventTopic.topicArn,
      sourceType: 'db-instance',
      sourceIds: [this.instance.instanceIdentifier],
      eventCategories: ['failure', 'failover', 'maintenance', 'configuration change', 'low storage', 'notification'],
      enabled: true,
    });

    this.pinDatabasePort();
    this.acknowledgeConfiguredTradeOffs(cfg);
    acknowledge(
      this.instance.node.defaultChild!,
      'NIST.800.53.R5-RDSInBackupPlan',
      "Backups are automated backups with point-in-time recovery (7-35 days, kept after deletion) plus this project's scheduled, tagged manual snapshots with retention; an AWS Backup plan would duplicate them.",
    );
    acknowledge(
      monitoringRole.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'logs', 'log-group:RDSOSMetrics:*')}]`,
      'Enhanced monitoring writes to the RDS-owned RDSOSMetrics log group with streams named per instance; the grant covers that one group only.',
    );
    acknowledge(
      monitoringRole.policy,
      `AwsSolutions-IAM5[Resource::${nagArn(stack, 'logs', 'log-group:RDSOSMetrics:log-stream:*')}]`,
      'Enhanced monitoring writes to the RDS-owned RDSOSMetrics log group with streams named per instance; the grant covers that one group only.',
    );
  }

  /**
   * Findings that follow from a deliberate config choice (dev is single-AZ and deletable to keep
   * it cheap and disposable). Prod sets both, so it has none of these acknowledgements.
   */
  private acknowledgeConfiguredTradeOffs(cfg: EnvironmentConfig['database']): void {
    const instance = this.instance.node.defaultChild!;
    if (!cfg.multiAz) {
      const reason =
        'config database.multiAz is false for this environment (a disposable, low-cost one); production sets it to true.';
      acknowledge(instance, 'AwsSolutions-RDS3', reason);
      acknowledge(instance, 'NIST.800.53.R5-RDSMultiAZSupport', reason);
      acknowledge(instance, 'cdk-validator-cfnguard::rds_instance_multi_az_support_check', reason);
    }
    if (!cfg.deletionProtection) {
      const reason =
        'config database.deletionProtection is false for this environment so it can be torn down; removal still takes a final snapshot.';
      acknowledge(instance, 'AwsSolutions-RDS10', reason);
      acknowledge(instance, 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled', reason);
      acknowledge(instance, 'cdk-validator-cfnguard::rds_instance_deletion_protection_enabled_check', reason);
    }
  }

  /**
   * CDK's proxy binding and rotation admit their groups on the instance's port *attribute*
   * (a token). The port is fixed by config, so write it literally: the rules stay readable to
   * the compliance checks and to reviewers.
   */
  private pinDatabasePort(): void {
    for (const c of Stack.of(this).node.findAll()) {
      if (c instanceof ec2.CfnSecurityGroupIngress || c instanceof ec2.CfnSecurityGroupEgress) {
        if (Token.isUnresolved(c.fromPort) || Token.isUnresolved(c.toPort)) {
          c.fromPort = this.port;
          c.toPort = this.port;
        }
      }
    }
  }

  /** Admits `peer` to the database port, with the reason in the rule description. */
  public allowFrom(peer: ec2.IConnectable, reason: string): void {
    // From the consumer's side: CDK then creates both rules in the consumer's stack, so a
    // stateless stack can be granted access without the data stack depending on it.
    peer.connections.allowTo(this.securityGroup, ec2.Port.tcp(this.port), `${reason} to PostgreSQL`);
  }

  /**
   * Lets `role` read the master secret with identity-policy statements only, so a function in
   * another (later) stack can read it without the data stack's key policy naming that function
   * (which would make the stateful stack depend on the stateless one).
   */
  public grantSecretRead(role: iam.IRole, encryptionKey: kms.IKey): void {
    const stack = Stack.of(this);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [this.secret.secretArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
      }),
    );
  }

  /** The `rds-db:connect` ARN of a database user on the instance (direct IAM auth). */
  public dbUserArn(user: string): string {
    const stack = Stack.of(this);
    return `arn:${stack.partition}:rds-db:${stack.region}:${stack.account}:dbuser:${this.instance.instanceResourceId}/${user}`;
  }
}
