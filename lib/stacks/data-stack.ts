import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import { CrmDatabase } from '../constructs/crm-database';
import type { CrmNetwork } from '../constructs/crm-network';
import { EncryptionKey } from '../constructs/log-encryption-key';
import { SchemaMigration } from '../constructs/schema-migration';
import { SecureTopic } from '../constructs/secure-topic';
import { keepLegacyExports } from './legacy-exports';
import { retentionDays } from './retention';

export interface DataStackProps extends StackProps {
  readonly config: EnvironmentConfig;
  readonly network: CrmNetwork;
}

/** Stateful: the database key, the PostgreSQL instance, its secret and proxy, the schema. */
export class DataStack extends Stack {
  public readonly database: CrmDatabase;
  public readonly key: EncryptionKey;
  public readonly eventTopic: SecureTopic;
  public readonly schema: SchemaMigration;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, terminationProtection: props.config.terminationProtection });
    const { config, network } = props;
    this.key = new EncryptionKey(this, 'DataKey', {
      alias: `crm-${config.name}-data`,
      description: `CRM ${config.name}: database storage, master secret, Performance Insights, logs`,
    });
    this.eventTopic = new SecureTopic(this, 'DatabaseEvents', {
      displayName: `CRM ${config.name} database events`,
      encryptionKey: this.key.key,
      emails: config.alarms.emails,
      servicePublishers: ['events.rds.amazonaws.com'],
    });
    this.database = new CrmDatabase(this, 'Database', {
      vpc: network.vpc,
      secretsManagerEndpoint: network.endpoints.SecretsManager,
      encryptionKey: this.key.key,
      environmentName: config.name,
      database: config.database,
      logRetention: retentionDays(config.logRetentionDays),
      eventTopic: this.eventTopic.topic,
    });
    this.schema = new SchemaMigration(this, 'Schema', {
      vpc: network.vpc,
      database: this.database,
      encryptionKey: this.key.key,
      logRetention: retentionDays(config.logRetentionDays),
      lockTimeoutMs: config.database.migration.lockTimeoutMs,
      statementTimeoutMs: config.database.migration.statementTimeoutMs,
      snapshotBeforeMigration: config.database.migration.snapshotBeforeMigration,
      environmentName: config.name,
    });
    // Imported by the API and ops stacks of earlier versions; they read SSM parameters now.
    keepLegacyExports(this, [
      this.database.proxy.endpoint,
      this.database.proxy.dbProxyArn,
      this.database.instance.dbInstanceEndpointAddress,
      this.database.instanceResourceId,
    ]);
  }

  public get vpc(): ec2.IVpc {
    return this.database.instance.vpc;
  }
}
