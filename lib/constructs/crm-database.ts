import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as ssm from 'aws-cdk-lib/aws-ssm';
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
 * What constructs may use of the database. In the data stack it is the `CrmDatabase` itself; in a
 * stateless stack it is `CrmDatabase.accessFrom(stack)`, which carries only what lasts as long as
 * the data stack (literal names, the security groups, the secret) and reads what may change (the
 * endpoints, the proxy ARN, the instance's resource id) from SSM parameters at deploy time, so
 * that no stack export pins a replaceable resource.
 */
export interface ICrmDatabase {
  readonly instance: rds.IDatabaseInstance;
  readonly secret: secretsmanager.ISecret;
  readonly proxy: rds.IDatabaseProxy;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly proxySecurityGroup: ec2.ISecurityGroup;
  /** `crm-<env>` (a literal). */
  readonly instanceIdentifier: string;
  /** Name of the RDS Proxy (a literal, so metrics in other stacks need no import). */
  readonly proxyName: string;
  readonly port: number;
  readonly databaseName: string;
  /** Admits `peer` to the database port, with the reason in the rule description. */
  allowFrom(peer: ec2.IConnectable, reason: string): void;
  /** Lets `role` read the master secret (identity policy only). */
  grantSecretRead(role: iam.IRole, encryptionKey: kms.IKey): void;
  /** The `rds-db:connect` ARN of a database user on the instance (direct IAM auth). */
  dbUserArn(user: string): string;
}

/** The values the data stack publishes for the stateless stacks, as `/crm/<env>/database/<key>`. */
export const DATABASE_PARAMETERS = ['endpoint-address', 'resource-id', 'proxy-endpoint', 'proxy-arn'] as const;
export type DatabaseParameter = (typeof DATABASE_PARAMETERS)[number];

/** Name of an SSM parameter the data stack writes, e.g. `/crm/prod/database/proxy-endpoint`. */
export function databaseParameterName(environmentName: string, key: DatabaseParameter): string {
  return `/crm/${environmentName}/database/${key}`;
}

/**
 * The CRM's PostgreSQL 18 on RDS: encrypted, private, TLS-only, IAM auth, rotated master secret,
 * RDS Proxy for the API, log exports to encrypted log groups, enhanced monitoring, Database
 * Insights, and events to a topic. The security group admits only the consumers granted through
 * `allowFrom` on the database port.
 */
export class CrmDatabase extends Construct implements ICrmDatabase {
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
  public readonly environmentName: string;
  /** The instance's resource id (`db-...`), as in `rds-db:connect` ARNs. */
  public readonly instanceResourceId: string;

  constructor(scope: Construct, id: string, props: CrmDatabaseProps) {
    super(scope, id);
    const cfg = props.database;
    this.instanceIdentifier = `crm-${props.environmentName}`;
    this.proxyName = `crm-${props.environmentName}`;
    this.port = cfg.port;
    this.databaseName = cfg.databaseName;
    this.environmentName = props.environmentName;

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
        // WAL and checkpoint overrides only when configured (min/max_wal_size in MB).
        ...(cfg.parameters.minWalSizeMb !== undefined ? { min_wal_size: String(cfg.parameters.minWalSizeMb) } : {}),
        ...(cfg.parameters.maxWalSizeMb !== undefined ? { max_wal_size: String(cfg.parameters.maxWalSizeMb) } : {}),
        ...(cfg.parameters.checkpointCompletionTarget !== undefined
          ? { checkpoint_completion_target: String(cfg.parameters.checkpointCompletionTarget) }
          : {}),
        ...(cfg.parameters.effectiveIoConcurrency !== undefined
          ? { effective_io_concurrency: String(cfg.parameters.effectiveIoConcurrency) }
          : {}),
        ...(cfg.parameters.walCompression !== undefined ? { wal_compression: cfg.parameters.walCompression } : {}),
        ...(cfg.parameters.jit !== undefined ? { jit: cfg.parameters.jit ? '1' : '0' } : {}),
        ...(cfg.parameters.pgStatStatementsMax !== undefined
          ? { 'pg_stat_statements.max': String(cfg.parameters.pgStatStatementsMax) }
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
    this.instanceResourceId = (this.instance.node.defaultChild as rds.CfnDBInstance).attrDbiResourceId;
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

    this.publishParameters();
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
   * What may change while the data stack lives (a replaced proxy or instance gets new endpoints, a
   * new ARN and resource id) goes to SSM parameters rather than stack exports: CloudFormation
   * refuses to change an export another stack imports, so an export would pin the resource.
   */
  private publishParameters(): void {
    const values: Record<DatabaseParameter, [id: string, value: string, what: string]> = {
      'endpoint-address': [
        'EndpointAddressParameter',
        this.instance.dbInstanceEndpointAddress,
        'DNS name of the instance',
      ],
      'resource-id': ['ResourceIdParameter', this.instanceResourceId, 'resource id of the instance'],
      'proxy-endpoint': ['ProxyEndpointParameter', this.proxy.endpoint, 'DNS name of the RDS Proxy'],
      'proxy-arn': ['ProxyArnParameter', this.proxy.dbProxyArn, 'ARN of the RDS Proxy'],
    };
    for (const key of DATABASE_PARAMETERS) {
      const [id, stringValue, what] = values[key];
      new ssm.StringParameter(this, id, {
        parameterName: databaseParameterName(this.environmentName, key),
        stringValue,
        description: `CRM ${this.environmentName}: ${what}, read by the stateless stacks when they deploy`,
      });
    }
  }

  /**
   * The database as a construct in `scope`'s stack may use it: the database itself in the data
   * stack; elsewhere a reference built from literals, the stable security groups and secret, and
   * the SSM parameters above (resolved when that stack deploys, never a stack export).
   */
  public accessFrom(scope: Construct): ICrmDatabase {
    const stack = Stack.of(scope);
    if (stack === Stack.of(this)) return this;
    const id = `${this.node.id}Reference`;
    return (stack.node.tryFindChild(id) as DatabaseReference | undefined) ?? new DatabaseReference(stack, id, this);
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
    return dbUserArn(Stack.of(this), this.instanceResourceId, user);
  }
}

function dbUserArn(stack: Stack, instanceResourceId: string, user: string): string {
  return `arn:${stack.partition}:rds-db:${stack.region}:${stack.account}:dbuser:${instanceResourceId}/${user}`;
}

/**
 * The database seen from a stateless stack (see `CrmDatabase.accessFrom`). It imports from the data
 * stack only the security groups and the master secret, which live as long as that stack.
 */
class DatabaseReference extends Construct implements ICrmDatabase {
  public readonly secret: secretsmanager.ISecret;
  public readonly securityGroup: ec2.ISecurityGroup;
  public readonly proxySecurityGroup: ec2.ISecurityGroup;
  public readonly instanceIdentifier: string;
  public readonly proxyName: string;
  public readonly port: number;
  public readonly databaseName: string;
  private readonly source: CrmDatabase;
  private importedInstance?: rds.IDatabaseInstance;
  private importedProxy?: rds.IDatabaseProxy;

  constructor(scope: Construct, id: string, source: CrmDatabase) {
    super(scope, id);
    this.source = source;
    this.secret = source.secret;
    this.securityGroup = source.securityGroup;
    this.proxySecurityGroup = source.proxySecurityGroup;
    this.instanceIdentifier = source.instanceIdentifier;
    this.proxyName = source.proxyName;
    this.port = source.port;
    this.databaseName = source.databaseName;
  }

  /**
   * The latest value of one of the data stack's parameters, read when this stack deploys (no
   * version: the CDK CLI never skips deploying a stack with SSM-typed parameters, so redeploying
   * picks up a replaced proxy or instance). Created on first use: a stack only gets the
   * parameters it needs.
   */
  private parameter(key: DatabaseParameter): string {
    return ssm.StringParameter.valueForStringParameter(this, databaseParameterName(this.source.environmentName, key));
  }

  public get instance(): rds.IDatabaseInstance {
    this.importedInstance ??= rds.DatabaseInstance.fromDatabaseInstanceAttributes(this, 'Instance', {
      instanceIdentifier: this.instanceIdentifier,
      instanceEndpointAddress: this.parameter('endpoint-address'),
      instanceResourceId: this.parameter('resource-id'),
      port: this.port,
      securityGroups: [this.securityGroup],
      engine: POSTGRES_ENGINE,
    });
    return this.importedInstance;
  }

  public get proxy(): rds.IDatabaseProxy {
    this.importedProxy ??= rds.DatabaseProxy.fromDatabaseProxyAttributes(this, 'Proxy', {
      dbProxyName: this.proxyName,
      dbProxyArn: this.parameter('proxy-arn'),
      endpoint: this.parameter('proxy-endpoint'),
      securityGroups: [this.proxySecurityGroup],
    });
    return this.importedProxy;
  }

  public allowFrom(peer: ec2.IConnectable, reason: string): void {
    this.source.allowFrom(peer, reason);
  }

  public grantSecretRead(role: iam.IRole, encryptionKey: kms.IKey): void {
    this.source.grantSecretRead(role, encryptionKey);
  }

  public dbUserArn(user: string): string {
    return dbUserArn(Stack.of(this), this.parameter('resource-id'), user);
  }
}
