import {
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
import { type RestoreConfig, runRestore, VerificationNotStartedError } from '../../../lambda/restore/restore';
import { ValidationError } from '../../../lambda/shared/errors';
import { ACCOUNT, dbInstance, dbSnapshot, INSTANCE_ID, KMS_KEY_ARN, REGION } from '../snapshot/fixtures';
import { EXEC_ARN, SM_ARN, SNAP } from './fixtures';

const rds = new RDSClient({ region: REGION });
const sfn = new SFNClient({ region: REGION });
const rdsMock = mockClient(rds);
const sfnMock = mockClient(sfn);

const NOW = new Date('2026-11-28T11:00:00Z');
const config: RestoreConfig = { liveInstanceId: INSTANCE_ID, verifyStateMachineArn: SM_ARN };
const deps = { rds, sfn, now: () => NOW };

const restore = async (raw: unknown) => runRestore(config, deps, parseRestoreRequest(raw));

const notFound = () =>
  new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: { httpStatusCode: 404 } });

beforeEach(() => {
  rdsMock.reset();
  sfnMock.reset();
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
      Iops: 3000,
      StorageThroughput: 125,
      AutoMinorVersionUpgrade: true,
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
      CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      BackupRetentionPeriod: 14,
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
      Tags: expect.arrayContaining([{ Key: 'drill', Value: 'true' }]),
    });
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(result.verificationInput).toMatchObject({ drill: true, restoreStartedAt: NOW.toISOString() });
  });
});
