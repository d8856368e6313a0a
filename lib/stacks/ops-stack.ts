import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config';
import type { CrmDatabase } from '../constructs/crm-database';
import type { CrmNetwork } from '../constructs/crm-network';
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
}

/** Stateless operations: snapshots and retention, restore with verification, restore drills, alarms. */
export class OpsStack extends Stack {
  public readonly alarmTopic: SecureTopic;
  public readonly snapshots: DatabaseSnapshots;
  public readonly restore: RestoreWorkflow;
  public readonly drill: RestoreDrill;
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
  }
}
