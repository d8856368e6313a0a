import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutRetentionPolicyCommand,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { parseRestoreRequest } from '../../../lambda/restore/input';
import {
  type RestoreConfig,
  runRestore,
  storageSettings,
  VerificationNotStartedError,
} from '../../../lambda/restore/restore';
import { ValidationError } from '../../../lambda/shared/errors';
import { ACCOUNT, dbInstance, dbSnapshot, INSTANCE_ID, KMS_KEY_ARN, REGION } from '../snapshot/fixtures';
import { EXEC_ARN, SM_ARN, SNAP } from './fixtures';

const rds = new RDSClient({ region: REGION });
const sfn = new SFNClient({ region: REGION });
const rdsMock = mockClient(rds);
const sfnMock = mockClient(sfn);
const logs = new CloudWatchLogsClient({ region: REGION });
const logsMock = mockClient(logs);
const LOGS_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/9f8e7d6c-5b4a-3210-fedc-ba9876543210`;

const NOW = new Date('2026-11-28T11:00:00Z');
const config: RestoreConfig = { liveInstanceId: INSTANCE_ID, verifyStateMachineArn: SM_ARN };
const deps = { rds, sfn, now: () => NOW };

const restore = async (raw: unknown) => runRestore(config, deps, parseRestoreRequest(raw));

const notFound = () =>
  new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: { httpStatusCode: 404 } });

beforeEach(() => {
  rdsMock.reset();
  sfnMock.reset();
  logsMock.reset();
  logsMock.on(CreateLogGroupCommand).resolves({});
  logsMock.on(PutRetentionPolicyCommand).resolves({});
  rdsMock.on(DescribeDBInstancesCommand).rejects(notFound());
  rdsMock
    .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID })
    .resolves({ DBInstances: [dbInstance()] });
  rdsMock
    .on(DescribeDBSnapshotsCommand)
    .rejects(new DBSnapshotNotFoundFault({ message: 'DBSnapshot not found', $metadata: {} }));
  rdsMock.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SNAP }).resolves({
    DBSnapshots: [dbSnapshot({ DBSnapshotIdentifier: SNAP, SnapshotCreateTime: new Date('2026-11-27T03:00:41Z') })],
  });
  rdsMock.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({
    DBInstanceAutomatedBackups: [
      {
        DBInstanceArn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:${INSTANCE_ID}`,
        DbiResourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXY0',
        Region: REGION,
        DBInstanceIdentifier: INSTANCE_ID,
        RestoreWindow: { EarliestTime: new Date('2026-11-14T02:10:00Z'), LatestTime: new Date('2026-11-28T10:50:00Z') },
        Status: 'active',
        Engine: 'postgres',
        BackupRetentionPeriod: 14,
        Encrypted: true,
        KmsKeyId: KMS_KEY_ARN,
      },
    ],
  });
  rdsMock
    .on(RestoreDBInstanceFromDBSnapshotCommand)
    .resolves({ DBInstance: dbInstance({ DBInstanceStatus: 'creating' }) });
  rdsMock
    .on(RestoreDBInstanceToPointInTimeCommand)
    .resolves({ DBInstance: dbInstance({ DBInstanceStatus: 'creating' }) });
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXEC_ARN, startDate: NOW });
});

/** Every RDS / Step Functions call made, by command name. */
const callNames = () => [...rdsMock.calls(), ...sfnMock.calls()].map((c) => c.args[0].constructor.name);
const mutatingCalls = () => callNames().filter((n) => !n.startsWith('Describe'));

describe('restore: bad input is refused with a typed error naming the field and changes nothing', () => {
  it.each<[string, unknown, string, RegExp]>([
    ['neither source', {}, 'snapshotId', /one of snapshotId or pointInTime is required/],
    [
      'both sources',
      { snapshotId: SNAP, pointInTime: 'latest' },
      'pointInTime',
      /either snapshotId or pointInTime, not both/,
    ],
    ['an empty snapshot id', { snapshotId: ' ' }, 'snapshotId', /must not be empty/],
    ['a malformed snapshot id', { snapshotId: 'crm_prod;drop' }, 'snapshotId', /not a valid snapshot identifier/],
    [
      'an unknown snapshot',
      { snapshotId: 'crm-prod-20200101-0300' },
      'snapshotId',
      /no snapshot named "crm-prod-20200101-0300"/,
    ],
    ['a snapshot still creating', { snapshotId: 'crm-prod-20261128-0300' }, 'snapshotId', /is creating, not available/],
    [
      'a snapshot of another instance',
      { snapshotId: 'crm-dev-20261127-0300' },
      'snapshotId',
      /is a snapshot of crm-dev, not of the live instance crm-prod/,
    ],
    [
      'a point in time without zone',
      { pointInTime: '2026-11-27 09:00' },
      'pointInTime',
      /ISO-8601 date-time with a time zone/,
    ],
    [
      'a point in time before the window',
      { pointInTime: '2026-11-01T00:00:00Z' },
      'pointInTime',
      /outside the restorable window \[2026-11-14T02:10:00.000Z, 2026-11-28T10:55:00.000Z\]/,
    ],
    [
      'a point in time in the future',
      { pointInTime: '2026-11-28T12:00:00Z' },
      'pointInTime',
      /outside the restorable window/,
    ],
    [
      'an invalid target id',
      { snapshotId: SNAP, targetInstanceId: '9restore' },
      'targetInstanceId',
      /must start with a letter/,
    ],
    [
      'a target id with double hyphens',
      { snapshotId: SNAP, targetInstanceId: 'crm--restore' },
      'targetInstanceId',
      /consecutive hyphens/,
    ],
    [
      'a too long target id',
      { snapshotId: SNAP, targetInstanceId: `a${'b'.repeat(63)}` },
      'targetInstanceId',
      /at most 63/,
    ],
    [
      'the live instance as target',
      { snapshotId: SNAP, targetInstanceId: 'CRM-PROD' },
      'targetInstanceId',
      /is the live instance crm-prod/,
    ],
    [
      'a target outside the live instance prefix',
      { snapshotId: SNAP, targetInstanceId: 'other-db-1' },
      'targetInstanceId',
      /must start with "crm-prod-"/,
    ],
    [
      'a target already in use',
      { snapshotId: SNAP, targetInstanceId: 'crm-prod-old' },
      'targetInstanceId',
      /already in use by an instance \(status available\)/,
    ],
    ['an unknown option', { snapshotId: SNAP, target: 'x' }, 'target', /is not a restore option/],
    ['a non-boolean dryRun', { snapshotId: SNAP, dryRun: 'yes' }, 'dryRun', /expected boolean/],
    [
      'a requestedBy with forbidden characters',
      { snapshotId: SNAP, requestedBy: 'alice<script>' },
      'requestedBy',
      /may contain only/,
    ],
  ])('%s', async (_, input, field, message) => {
    rdsMock.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: 'crm-prod-20261128-0300' }).resolves({
      DBSnapshots: [
        dbSnapshot({ DBSnapshotIdentifier: 'crm-prod-20261128-0300', Status: 'creating', PercentProgress: 35 }),
      ],
    });
    rdsMock.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: 'crm-dev-20261127-0300' }).resolves({
      DBSnapshots: [dbSnapshot({ DBSnapshotIdentifier: 'crm-dev-20261127-0300', DBInstanceIdentifier: 'crm-dev' })],
    });
    rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'crm-prod-old' }).resolves({
      DBInstances: [dbInstance({ DBInstanceIdentifier: 'crm-prod-old' })],
    });

    const err = await restore(input).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    expect((err as Error).message).toMatch(message);
    expect(mutatingCalls()).toEqual([]);
  });

  it('refuses a point-in-time restore when automated backups are disabled', async () => {
    rdsMock
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID })
      .resolves({ DBInstances: [dbInstance({ BackupRetentionPeriod: 0 })] });
    await expect(restore({ pointInTime: 'latest' })).rejects.toThrow(
      /pointInTime: automated backups are disabled on crm-prod/,
    );
    expect(mutatingCalls()).toEqual([]);
  });
});

describe('restore: dry run', () => {
  it('returns the full plan and makes no mutating call', async () => {
    const result = await restore({ snapshotId: SNAP, dryRun: true, requestedBy: 'alice@example.com' });

    expect(result.dryRun).toBe(true);
    expect(result.executionArn).toBeUndefined();
    expect(result.plan).toMatchObject({
      sourceInstanceId: INSTANCE_ID,
      targetInstanceId: 'crm-prod-restore-20261128-1100',
      source: { type: 'snapshot', snapshotId: SNAP, snapshotArn: `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:${SNAP}` },
      kmsKeyId: KMS_KEY_ARN,
      restore: { api: 'RestoreDBInstanceFromDBSnapshot' },
      verification: { stateMachineArn: SM_ARN, executionName: 'crm-prod-restore-20261128-1100' },
    });
    expect(callNames().every((n) => n.startsWith('Describe'))).toBe(true);
    expect(mutatingCalls()).toEqual([]);
  });
});

describe('restore from a snapshot', () => {
  it('restores into a new instance with every setting of the live instance and the restore tags', async () => {
    const result = await restore({
      snapshotId: SNAP,
      targetInstanceId: 'crm-prod-restore-a',
      requestedBy: 'alice@example.com',
    });

    expect(result.targetInstanceId).toBe('crm-prod-restore-a');
    expect(rdsMock).toHaveReceivedCommandTimes(RestoreDBInstanceFromDBSnapshotCommand, 1);
    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      DBInstanceIdentifier: 'crm-prod-restore-a',
      DBSnapshotIdentifier: SNAP,
      DBInstanceClass: 'db.r7g.large',
      DBSubnetGroupName: 'crm-prod-db-subnets',
      VpcSecurityGroupIds: ['sg-0db0000000000000a'],
      DBParameterGroupName: 'crm-prod-postgres18',
      OptionGroupName: 'default:postgres-18',
      MultiAZ: true,
      Port: 5432,
      PubliclyAccessible: false,
      EnableIAMDatabaseAuthentication: true,
      DeletionProtection: true,
      CopyTagsToSnapshot: true,
      StorageType: 'gp3',
      AllocatedStorage: 100,
      AutoMinorVersionUpgrade: true,
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
      CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      BackupRetentionPeriod: 14,
      PreferredBackupWindow: '02:00-02:30',
      NetworkType: 'IPV4',
      Tags: [
        { Key: 'environment', Value: 'prod' },
        { Key: 'restored-from', Value: `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:${SNAP}` },
        { Key: 'requested-by', Value: 'alice@example.com' },
      ],
    });
    // The request sent is exactly the one the plan showed.
    expect(rdsMock.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0]!.args[0].input).toEqual(
      result.plan.restore.request,
    );
  });

  it('starts the verification workflow named after the target and returns its execution ARN', async () => {
    const result = await restore({ snapshotId: SNAP, requestedBy: 'alice@example.com' });

    expect(result.executionArn).toBe(EXEC_ARN);
    const start = sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start).toMatchObject({ stateMachineArn: SM_ARN, name: 'crm-prod-restore-20261128-1100' });
    expect(JSON.parse(start.input!)).toEqual({
      targetInstanceId: 'crm-prod-restore-20261128-1100',
      sourceInstanceId: INSTANCE_ID,
      restoredFrom: SNAP,
      restoreStartedAt: NOW.toISOString(),
      requestedBy: 'alice@example.com',
      drill: false,
    });
  });

  it('never sends a call that changes the source instance', async () => {
    await restore({ snapshotId: SNAP });
    expect(callNames().filter((n) => !n.startsWith('Describe'))).toEqual([
      'RestoreDBInstanceFromDBSnapshotCommand',
      'StartExecutionCommand',
    ]);
  });

  it('names the restored instance in the error when verification cannot be started', async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new Error('AccessDeniedException: not authorized to perform states:StartExecution'));
    const err = await restore({ snapshotId: SNAP }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationNotStartedError);
    expect((err as Error).message).toMatch(
      /instance crm-prod-restore-20261128-1100 is being restored, but its verification did not start/,
    );
  });
});

describe('restore to a point in time', () => {
  it('restores a given time with RestoreTime and the live settings', async () => {
    await restore({ pointInTime: '2026-11-27T09:30:00+01:00', targetInstanceId: 'crm-prod-pitr' });

    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceToPointInTimeCommand, {
      SourceDBInstanceIdentifier: INSTANCE_ID,
      TargetDBInstanceIdentifier: 'crm-prod-pitr',
      RestoreTime: new Date('2026-11-27T08:30:00Z'),
      DBInstanceClass: 'db.r7g.large',
      DBSubnetGroupName: 'crm-prod-db-subnets',
      VpcSecurityGroupIds: ['sg-0db0000000000000a'],
      DBParameterGroupName: 'crm-prod-postgres18',
      MultiAZ: true,
      Port: 5432,
      EnableIAMDatabaseAuthentication: true,
      DeletionProtection: true,
      CopyTagsToSnapshot: true,
      MaxAllocatedStorage: 500,
      Tags: expect.arrayContaining([{ Key: 'restored-from', Value: 'crm-prod@2026-11-27T08:30:00.000Z' }]),
    });
    expect(
      rdsMock.commandCalls(RestoreDBInstanceToPointInTimeCommand)[0]!.args[0].input.UseLatestRestorableTime,
    ).toBeUndefined();
  });

  it('restores "latest" with UseLatestRestorableTime', async () => {
    const result = await restore({ pointInTime: 'latest' });
    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceToPointInTimeCommand, { UseLatestRestorableTime: true });
    expect(result.plan.source).toMatchObject({ type: 'point-in-time', restoreTime: 'latest' });
  });
});

describe('drill mode', () => {
  it('names the instance with the drill prefix, tags it, turns deletion protection off and starts no workflow', async () => {
    const result = await runRestore(
      { liveInstanceId: INSTANCE_ID, mode: 'drill', drillPrefix: 'crm-prod-drill' },
      deps,
      parseRestoreRequest({ snapshotId: SNAP }),
    );

    expect(result.targetInstanceId).toBe('crm-prod-drill-20261128-1100');
    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      DeletionProtection: false,
      // Single-AZ although the live instance is Multi-AZ (the fixture's).
      MultiAZ: false,
      Tags: expect.arrayContaining([{ Key: 'drill', Value: 'true' }]),
    });
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(result.verificationInput).toMatchObject({ drill: true, restoreStartedAt: NOW.toISOString() });
  });
});

describe('restore: gp3 IOPS and throughput (RDS refuses them for PostgreSQL gp3 below 400 GiB)', () => {
  const live = (over: Partial<DBInstance>) => dbInstance({ StorageType: 'gp3', ...over });

  it.each<[string, Partial<DBInstance>]>([
    ['100 GiB at the small-volume baseline', { AllocatedStorage: 100, Iops: 3000, StorageThroughput: 125 }],
    ['399 GiB', { AllocatedStorage: 399, Iops: 3000, StorageThroughput: 125 }],
  ])('leaves Iops and StorageThroughput to the backup below the threshold: %s', async (_, over) => {
    rdsMock
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID })
      .resolves({ DBInstances: [live(over)] });

    await restore({ snapshotId: SNAP, targetInstanceId: 'crm-prod-restore-a' });

    const sent = rdsMock.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0]!.args[0].input;
    expect(sent).toMatchObject({ StorageType: 'gp3', AllocatedStorage: over.AllocatedStorage });
    expect(sent).not.toHaveProperty('Iops');
    expect(sent).not.toHaveProperty('StorageThroughput');
  });

  it('passes provisioned IOPS and throughput at 400 GiB when they differ from the baseline', async () => {
    rdsMock
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID })
      .resolves({ DBInstances: [live({ AllocatedStorage: 400, Iops: 16000, StorageThroughput: 1000 })] });

    await restore({ pointInTime: 'latest', targetInstanceId: 'crm-prod-pitr' });

    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceToPointInTimeCommand, {
      StorageType: 'gp3',
      AllocatedStorage: 400,
      Iops: 16000,
      StorageThroughput: 1000,
    });
  });

  it('passes only the setting that differs from the 12,000 IOPS / 500 MiB/s baseline above the threshold', () => {
    expect(storageSettings(live({ AllocatedStorage: 500, Iops: 12000, StorageThroughput: 750 }))).toEqual({
      StorageType: 'gp3',
      AllocatedStorage: 500,
      StorageThroughput: 750,
    });
    expect(storageSettings(live({ AllocatedStorage: 500, Iops: 12000, StorageThroughput: 500 }))).toEqual({
      StorageType: 'gp3',
      AllocatedStorage: 500,
    });
  });

  it('always passes Iops for io1/io2 (no throughput setting there)', () => {
    expect(
      storageSettings(dbInstance({ StorageType: 'io2', AllocatedStorage: 100, Iops: 5000, StorageThroughput: 0 })),
    ).toEqual({
      StorageType: 'io2',
      AllocatedStorage: 100,
      Iops: 5000,
    });
  });
});

describe('restore: live settings the restore APIs cannot take are listed as differences', () => {
  const monitored = () =>
    dbInstance({
      MonitoringInterval: 60,
      MonitoringRoleArn: `arn:aws:iam::${ACCOUNT}:role/crm-prod-monitoring`,
      PerformanceInsightsEnabled: true,
      PerformanceInsightsKMSKeyId: KMS_KEY_ARN,
      PerformanceInsightsRetentionPeriod: 465,
      DatabaseInsightsMode: 'advanced',
      PreferredMaintenanceWindow: 'sun:03:30-sun:04:30',
      MaxAllocatedStorage: 500,
    });

  it('states each difference of a snapshot restore with the command that applies it', async () => {
    rdsMock
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID })
      .resolves({ DBInstances: [monitored()] });

    const result = await restore({ snapshotId: SNAP, targetInstanceId: 'crm-prod-restore-a', dryRun: true });

    const modify = 'aws rds modify-db-instance --db-instance-identifier crm-prod-restore-a';
    expect(result.plan.differences).toEqual([
      {
        setting: 'MonitoringInterval',
        live: `60 s (role arn:aws:iam::${ACCOUNT}:role/crm-prod-monitoring)`,
        restored: '0 (enhanced monitoring off)',
        howToApply: `${modify} --monitoring-interval 60 --monitoring-role-arn arn:aws:iam::${ACCOUNT}:role/crm-prod-monitoring --apply-immediately`,
      },
      {
        setting: 'PerformanceInsightsEnabled',
        live: `on (key ${KMS_KEY_ARN}, 465 days)`,
        restored: 'off',
        howToApply: `${modify} --enable-performance-insights --performance-insights-kms-key-id ${KMS_KEY_ARN} --performance-insights-retention-period 465 --apply-immediately`,
      },
      {
        setting: 'DatabaseInsightsMode',
        live: 'advanced',
        restored: 'standard',
        howToApply: `${modify} --database-insights-mode advanced --apply-immediately`,
      },
      {
        setting: 'PreferredMaintenanceWindow',
        live: 'sun:03:30-sun:04:30',
        restored: 'a window RDS picks at random',
        howToApply: `${modify} --preferred-maintenance-window sun:03:30-sun:04:30 --apply-immediately`,
      },
      {
        setting: 'MaxAllocatedStorage',
        live: '500 GiB',
        restored: 'storage autoscaling off',
        howToApply: `${modify} --max-allocated-storage 500 --apply-immediately`,
      },
    ]);
    expect(result.plan.notes.join('\n')).toMatch(/differs from live in MonitoringInterval, .*MaxAllocatedStorage/);
  });

  it('passes MaxAllocatedStorage to a point-in-time restore instead of listing it', async () => {
    rdsMock
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID })
      .resolves({ DBInstances: [monitored()] });

    const result = await restore({ pointInTime: 'latest', targetInstanceId: 'crm-prod-pitr' });

    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceToPointInTimeCommand, { MaxAllocatedStorage: 500 });
    expect(result.plan.differences.map((d) => d.setting)).not.toContain('MaxAllocatedStorage');
  });
});

describe("restore: the new instance's RDS log groups are created encrypted before the restore call", () => {
  const withLogs: RestoreConfig = { ...config, logGroups: { kmsKeyArn: LOGS_KEY_ARN, retentionDays: 30 } };
  const restoreWithLogs = (raw: unknown) => runRestore(withLogs, { ...deps, logs }, parseRestoreRequest(raw));
  const groups = ['/aws/rds/instance/crm-prod-restore-a/postgresql', '/aws/rds/instance/crm-prod-restore-a/upgrade'];

  it('creates each exported log group with the key and the retention, then restores', async () => {
    const order: string[] = [];
    logsMock.on(CreateLogGroupCommand).callsFake((input: { logGroupName: string }) => {
      order.push(`create ${input.logGroupName}`);
      return {};
    });
    rdsMock.on(RestoreDBInstanceFromDBSnapshotCommand).callsFake(() => {
      order.push('restore');
      return { DBInstance: dbInstance({ DBInstanceStatus: 'creating' }) };
    });

    const result = await restoreWithLogs({ snapshotId: SNAP, targetInstanceId: 'crm-prod-restore-a' });

    expect(result.plan.logGroups).toEqual(groups);
    for (const logGroupName of groups) {
      expect(logsMock).toHaveReceivedCommandWith(CreateLogGroupCommand, { logGroupName, kmsKeyId: LOGS_KEY_ARN });
      expect(logsMock).toHaveReceivedCommandWith(PutRetentionPolicyCommand, { logGroupName, retentionInDays: 30 });
    }
    expect(order).toEqual([...groups.map((g) => `create ${g}`), 'restore']);
  });

  it('tolerates a log group that already exists and still sets its retention', async () => {
    logsMock.on(CreateLogGroupCommand).rejects(
      new ResourceAlreadyExistsException({
        message: 'The specified log group already exists',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    await restoreWithLogs({ snapshotId: SNAP, targetInstanceId: 'crm-prod-restore-a' });

    expect(logsMock).toHaveReceivedCommandTimes(PutRetentionPolicyCommand, 2);
    expect(rdsMock).toHaveReceivedCommandTimes(RestoreDBInstanceFromDBSnapshotCommand, 1);
  });

  it('does not restore when a log group cannot be created (e.g. AccessDenied)', async () => {
    logsMock
      .on(CreateLogGroupCommand)
      .rejects(new Error('AccessDeniedException: not authorized to perform logs:CreateLogGroup'));

    await expect(restoreWithLogs({ snapshotId: SNAP, targetInstanceId: 'crm-prod-restore-a' })).rejects.toThrow(
      /AccessDenied/,
    );
    expect(rdsMock).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
  });

  it('creates nothing in a dry run or for bad input', async () => {
    await restoreWithLogs({ snapshotId: SNAP, targetInstanceId: 'crm-prod-restore-a', dryRun: true });
    await restoreWithLogs({ snapshotId: 'crm-prod-20200101-0300' }).catch(() => undefined);
    expect(logsMock.calls()).toHaveLength(0);
  });
});
