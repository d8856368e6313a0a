/**
 * RDS API shapes for tests, with the field names of the DescribeDBSnapshots / DescribeDBInstances
 * API reference (as the SDK deserializes them: dates are Date objects, tag lists are {Key, Value}).
 */
import type { DBInstance, DBSnapshot, Tag } from '@aws-sdk/client-rds';
import { MANAGED_BY_VALUE } from '../../../lambda/snapshot/tags';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const INSTANCE_ID = 'crm-prod';
export const PREFIX = 'crm-prod';
export const KMS_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0`;

export const managedTags = (extra: Record<string, string> = {}): Tag[] =>
  Object.entries({ 'managed-by': MANAGED_BY_VALUE, environment: 'prod', schedule: 'crm-prod-daily', ...extra }).map(
    ([Key, Value]) => ({ Key, Value }),
  );

export function dbSnapshot(over: Partial<DBSnapshot> & { DBSnapshotIdentifier: string }): DBSnapshot {
  const id = over.DBSnapshotIdentifier;
  const created = over.SnapshotCreateTime ?? new Date('2026-11-20T03:00:41.127Z');
  return {
    DBInstanceIdentifier: INSTANCE_ID,
    SnapshotCreateTime: created,
    Engine: 'postgres',
    AllocatedStorage: 100,
    Status: 'available',
    Port: 5432,
    AvailabilityZone: `${REGION}a`,
    VpcId: 'vpc-0a1b2c3d4e5f67890',
    InstanceCreateTime: new Date('2026-01-10T09:12:00.000Z'),
    MasterUsername: 'crm_owner',
    EngineVersion: '18.1',
    LicenseModel: 'postgresql-license',
    SnapshotType: 'manual',
    OptionGroupName: 'default:postgres-18',
    PercentProgress: 100,
    StorageType: 'gp3',
    Iops: 3000,
    StorageThroughput: 125,
    Encrypted: true,
    KmsKeyId: KMS_KEY_ARN,
    DBSnapshotArn: `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:${id}`,
    IAMDatabaseAuthenticationEnabled: true,
    ProcessorFeatures: [],
    DbiResourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXY0',
    TagList: managedTags(),
    OriginalSnapshotCreateTime: created,
    SnapshotTarget: 'region',
    DedicatedLogVolume: false,
    MultiTenant: false,
    ...over,
  };
}

export function dbInstance(over: Partial<DBInstance> = {}): DBInstance {
  const id = over.DBInstanceIdentifier ?? INSTANCE_ID;
  return {
    DBInstanceIdentifier: id,
    DBInstanceClass: 'db.r7g.large',
    Engine: 'postgres',
    DBInstanceStatus: 'available',
    MasterUsername: 'crm_owner',
    DBName: 'crm',
    Endpoint: { Address: `${id}.c9akciq32.${REGION}.rds.amazonaws.com`, Port: 5432, HostedZoneId: 'Z29XKXDKYMONMX' },
    AllocatedStorage: 100,
    InstanceCreateTime: new Date('2026-01-10T09:12:00.000Z'),
    PreferredBackupWindow: '02:00-02:30',
    BackupRetentionPeriod: 14,
    DBSecurityGroups: [],
    VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0db0000000000000a', Status: 'active' }],
    DBParameterGroups: [{ DBParameterGroupName: 'crm-prod-postgres18', ParameterApplyStatus: 'in-sync' }],
    AvailabilityZone: `${REGION}a`,
    DBSubnetGroup: {
      DBSubnetGroupName: 'crm-prod-db-subnets',
      DBSubnetGroupDescription: 'isolated subnets',
      VpcId: 'vpc-0a1b2c3d4e5f67890',
      SubnetGroupStatus: 'Complete',
      Subnets: [],
    },
    PreferredMaintenanceWindow: 'sun:04:00-sun:04:30',
    LatestRestorableTime: new Date('2026-11-28T10:55:00.000Z'),
    MultiAZ: true,
    EngineVersion: '18.1',
    AutoMinorVersionUpgrade: true,
    ReadReplicaDBInstanceIdentifiers: [],
    LicenseModel: 'postgresql-license',
    OptionGroupMemberships: [{ OptionGroupName: 'default:postgres-18', Status: 'in-sync' }],
    PubliclyAccessible: false,
    StorageType: 'gp3',
    Iops: 3000,
    StorageThroughput: 125,
    DbInstancePort: 0,
    StorageEncrypted: true,
    KmsKeyId: KMS_KEY_ARN,
    DbiResourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXY0',
    CACertificateIdentifier: 'rds-ca-rsa2048-g1',
    CopyTagsToSnapshot: true,
    MonitoringInterval: 60,
    DBInstanceArn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:${id}`,
    IAMDatabaseAuthenticationEnabled: true,
    PerformanceInsightsEnabled: true,
    EnabledCloudwatchLogsExports: ['postgresql', 'upgrade'],
    DeletionProtection: true,
    MaxAllocatedStorage: 500,
    TagList: [{ Key: 'environment', Value: 'prod' }],
    NetworkType: 'IPV4',
    BackupTarget: 'region',
    ...over,
  };
}

/** Records metrics like Powertools Metrics.addMetric. */
export class MetricRecorder {
  readonly metrics: { name: string; unit: string; value: number }[] = [];
  addMetric(name: string, unit: 'Count' | 'Seconds', value: number): this {
    this.metrics.push({ name, unit, value });
    return this;
  }
  value(name: string): number | undefined {
    return this.metrics.filter((m) => m.name === name).at(-1)?.value;
  }
}

export const silentLogger = () => ({ info: jest.fn(), warn: jest.fn(), error: jest.fn(), debug: jest.fn() });
