import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ValidationError } from '../../../lambda/shared/errors';
import { coldStart, QUIET_LAMBDA_ENV } from '../cold-start';
import { SNAP } from '../restore/fixtures';
import { dbInstance, dbSnapshot, INSTANCE_ID, PREFIX } from '../snapshot/fixtures';

const rdsMock = mockClient(RDSClient);
const sfnMock = mockClient(SFNClient);
const logsMock = mockClient(CloudWatchLogsClient);
const DRILL_PREFIX = 'crm-prod-drill';
const LOGS_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/0000aaaa-1111-2222-3333-444455556666';

const fn = coldStart<{ handler: (event: unknown) => Promise<unknown> }>('lambda/drill/handler', {
  ...QUIET_LAMBDA_ENV,
  DB_INSTANCE_ID: INSTANCE_ID,
  SNAPSHOT_PREFIX: PREFIX,
  DRILL_PREFIX,
  METRICS_NAMESPACE: 'CRM/Ops',
  LOG_GROUP_KMS_KEY_ARN: LOGS_KEY_ARN,
  LOG_RETENTION_DAYS: '90',
});

beforeEach(() => {
  rdsMock.reset();
  sfnMock.reset();
  logsMock.reset();
  logsMock.on(CreateLogGroupCommand).resolves({});
  logsMock.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
  logsMock.on(PutRetentionPolicyCommand).resolves({});
  rdsMock
    .on(DescribeDBInstancesCommand)
    .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: { httpStatusCode: 404 } }));
  rdsMock
    .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID })
    .resolves({ DBInstances: [dbInstance()] });
  rdsMock.on(DescribeDBSnapshotsCommand).resolves({
    DBSnapshots: [
      dbSnapshot({
        DBSnapshotIdentifier: 'crm-prod-20261126-0300',
        SnapshotCreateTime: new Date('2026-11-26T03:00:40Z'),
      }),
      dbSnapshot({ DBSnapshotIdentifier: SNAP, SnapshotCreateTime: new Date('2026-11-27T03:00:41Z') }),
    ],
  });
  rdsMock
    .on(RestoreDBInstanceFromDBSnapshotCommand)
    .resolves({ DBInstance: dbInstance({ DBInstanceStatus: 'creating' }) });
});
afterEach(() => fn.restoreEnv());

const mutatingCalls = () =>
  [...rdsMock.calls(), ...sfnMock.calls(), ...logsMock.calls()]
    .map((c) => c.args[0].constructor.name)
    .filter((name) => !name.startsWith('Describe') && !name.startsWith('List'));

describe('drill handler', () => {
  it('pick-snapshot returns the newest managed snapshot of DB_INSTANCE_ID', async () => {
    const { handler } = fn.load();

    expect(await handler({ action: 'pick-snapshot' })).toMatchObject({
      snapshotId: SNAP,
      snapshotCreateTime: '2026-11-27T03:00:41.000Z',
    });
    expect(rdsMock).toHaveReceivedCommandWith(DescribeDBSnapshotsCommand, {
      DBInstanceIdentifier: INSTANCE_ID,
      SnapshotType: 'manual',
    });
  });

  it('restore starts a DRILL_PREFIX instance without deletion protection and starts no workflow', async () => {
    const { handler } = fn.load();

    const result = (await handler({ action: 'restore', snapshotId: SNAP, targetInstanceId: `${DRILL_PREFIX}-1` })) as {
      [k: string]: unknown;
    };

    expect(result).toMatchObject({
      targetInstanceId: `${DRILL_PREFIX}-1`,
      verificationInput: { restoredFrom: SNAP, requestedBy: 'restore-drill', drill: true },
    });
    expect(Object.keys(result).sort()).toEqual(['plan', 'restoreStartedAt', 'targetInstanceId', 'verificationInput']);
    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      DBInstanceIdentifier: `${DRILL_PREFIX}-1`,
      DeletionProtection: false,
      Tags: expect.arrayContaining([{ Key: 'drill', Value: 'true' }]),
    });
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it("restore pre-creates the drill instance's RDS log groups encrypted and with retention, before the restore call", async () => {
    const { handler } = fn.load();

    await handler({ action: 'restore', snapshotId: SNAP, targetInstanceId: `${DRILL_PREFIX}-1` });

    const created = logsMock.commandCalls(CreateLogGroupCommand).map((c) => c.args[0].input);
    expect(created).toEqual([
      { logGroupName: `/aws/rds/instance/${DRILL_PREFIX}-1/postgresql`, kmsKeyId: LOGS_KEY_ARN },
      { logGroupName: `/aws/rds/instance/${DRILL_PREFIX}-1/upgrade`, kmsKeyId: LOGS_KEY_ARN },
    ]);
    expect(logsMock).toHaveReceivedCommandWith(PutRetentionPolicyCommand, {
      logGroupName: `/aws/rds/instance/${DRILL_PREFIX}-1/postgresql`,
      retentionInDays: 90,
    });
    const restoreCall = rdsMock.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0]!;
    expect(logsMock.commandCalls(CreateLogGroupCommand)[0]!.calledBefore(restoreCall)).toBe(true);
  });

  it('restores the drill instance single-AZ even when the live instance is Multi-AZ', async () => {
    const { handler } = fn.load();

    await handler({ action: 'restore', snapshotId: SNAP, targetInstanceId: `${DRILL_PREFIX}-1` });

    expect(dbInstance().MultiAZ).toBe(true);
    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, { MultiAZ: false });
  });

  it('sweep deletes nothing but leftovers of earlier drills', async () => {
    const { handler } = fn.load();
    rdsMock.on(DescribeDBInstancesCommand, {}).resolves({ DBInstances: [dbInstance()] });

    expect(await handler({ action: 'sweep', minAgeMinutes: 150 })).toEqual({
      deleted: [],
      skipped: [],
      logGroupsDeleted: [],
    });
    expect(mutatingCalls()).toEqual([]);
  });

  it('record returns the measured duration of a successful drill', async () => {
    const { handler } = fn.load();
    const restoreStartedAt = new Date(Date.now() - 1_800_000).toISOString();

    const record = (await handler({ action: 'record', succeeded: true, restoreStartedAt })) as {
      durationSeconds: number;
    };

    expect(record.durationSeconds).toBeGreaterThanOrEqual(1800);
    expect(record.durationSeconds).toBeLessThan(1900);
  });

  it.each<[string, unknown, string]>([
    ['an unknown action', { action: 'drop-database' }, 'action'],
    ['no action', {}, 'action'],
    ['restore without snapshotId', { action: 'restore' }, 'snapshotId'],
    [
      'a restore target outside DRILL_PREFIX',
      { action: 'restore', snapshotId: SNAP, targetInstanceId: 'crm-prod-x' },
      'targetInstanceId',
    ],
    ['sweep without a minimum age', { action: 'sweep' }, 'minAgeMinutes'],
    ['delete-instance with an empty id', { action: 'delete-instance', targetInstanceId: '' }, 'targetInstanceId'],
    ['check-freshness without an ARN', { action: 'check-freshness', stateMachineArn: 'drill' }, 'stateMachineArn'],
  ])('refuses %s with a ValidationError naming the field and no mutating call', async (_, event, field) => {
    const { handler } = fn.load();

    const err = await handler(event).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    expect(mutatingCalls()).toEqual([]);
  });

  it.each<[string, string | undefined, RegExp]>([
    ['DRILL_PREFIX', undefined, /config\.DRILL_PREFIX: /],
    ['DRILL_PREFIX', 'crm', /config\.DRILL_PREFIX: "crm" would match the live instance crm-prod/],
    ['SNAPSHOT_PREFIX', ' ', /config\.SNAPSHOT_PREFIX: is required/],
    ['METRICS_NAMESPACE', undefined, /config\.METRICS_NAMESPACE: /],
    ['LOG_GROUP_KMS_KEY_ARN', undefined, /config\.LOG_GROUP_KMS_KEY_ARN: /],
  ])('fails at cold start with a ConfigError when %s is %j', (name, value, message) => {
    expect(() => fn.loadIsolated({ [name]: value })).toThrow(message);
  });
});
