import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { RestoreResult } from '../../../lambda/restore/restore';
import { ValidationError } from '../../../lambda/shared/errors';
import { coldStart, QUIET_LAMBDA_ENV } from '../cold-start';
import { dbInstance, dbSnapshot, INSTANCE_ID } from '../snapshot/fixtures';
import { EXEC_ARN, SM_ARN, SNAP } from './fixtures';

const rdsMock = mockClient(RDSClient);
const sfnMock = mockClient(SFNClient);
const logsMock = mockClient(CloudWatchLogsClient);
const LOGS_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/9f8e7d6c-5b4a-3210-fedc-ba9876543210';

const fn = coldStart<{ handler: (event: unknown) => Promise<RestoreResult> }>('lambda/restore/handler', {
  ...QUIET_LAMBDA_ENV,
  DB_INSTANCE_ID: INSTANCE_ID,
  VERIFY_STATE_MACHINE_ARN: SM_ARN,
  LOG_GROUP_KMS_KEY_ARN: LOGS_KEY_ARN,
  LOG_RETENTION_DAYS: '90',
});

beforeEach(() => {
  rdsMock.reset();
  sfnMock.reset();
  logsMock.reset();
  logsMock.on(CreateLogGroupCommand).resolves({});
  logsMock.on(PutRetentionPolicyCommand).resolves({});
  rdsMock
    .on(DescribeDBInstancesCommand)
    .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: { httpStatusCode: 404 } }));
  rdsMock
    .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE_ID })
    .resolves({ DBInstances: [dbInstance()] });
  rdsMock
    .on(DescribeDBSnapshotsCommand)
    .rejects(new DBSnapshotNotFoundFault({ message: 'DBSnapshot not found', $metadata: { httpStatusCode: 404 } }));
  rdsMock
    .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SNAP })
    .resolves({ DBSnapshots: [dbSnapshot({ DBSnapshotIdentifier: SNAP })] });
  rdsMock
    .on(RestoreDBInstanceFromDBSnapshotCommand)
    .resolves({ DBInstance: dbInstance({ DBInstanceStatus: 'creating' }) });
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXEC_ARN, startDate: new Date() });
});
afterEach(() => fn.restoreEnv());

const mutatingCalls = () =>
  [...rdsMock.calls(), ...sfnMock.calls(), ...logsMock.calls()]
    .map((c) => c.args[0].constructor.name)
    .filter((name) => !name.startsWith('Describe'));

describe('restore handler', () => {
  it('restores the live instance named in DB_INSTANCE_ID and starts VERIFY_STATE_MACHINE_ARN', async () => {
    const { handler } = fn.load();

    const result = await handler({ snapshotId: SNAP, targetInstanceId: 'crm-prod-restore-1', requestedBy: 'alice' });

    expect(result).toMatchObject({
      targetInstanceId: 'crm-prod-restore-1',
      dryRun: false,
      executionArn: EXEC_ARN,
      verificationInput: { sourceInstanceId: INSTANCE_ID, restoredFrom: SNAP, requestedBy: 'alice', drill: false },
    });
    expect(rdsMock).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      DBInstanceIdentifier: 'crm-prod-restore-1',
      DBSnapshotIdentifier: SNAP,
    });
    expect(sfnMock).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: SM_ARN,
      name: 'crm-prod-restore-1',
    });
  });

  it("creates the new instance's RDS log groups with LOG_GROUP_KMS_KEY_ARN and LOG_RETENTION_DAYS", async () => {
    const { handler } = fn.load();

    await handler({ snapshotId: SNAP, targetInstanceId: 'crm-prod-restore-1' });

    for (const log of ['postgresql', 'upgrade']) {
      const logGroupName = `/aws/rds/instance/crm-prod-restore-1/${log}`;
      expect(logsMock).toHaveReceivedCommandWith(CreateLogGroupCommand, { logGroupName, kmsKeyId: LOGS_KEY_ARN });
      expect(logsMock).toHaveReceivedCommandWith(PutRetentionPolicyCommand, { logGroupName, retentionInDays: 90 });
    }
  });

  it('returns the plan of a dry run without a mutating call', async () => {
    const { handler } = fn.load();

    const result = await handler({ snapshotId: SNAP, dryRun: true });

    expect(result.dryRun).toBe(true);
    expect(result.plan.restore.api).toBe('RestoreDBInstanceFromDBSnapshot');
    expect(mutatingCalls()).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['an unknown option', { snapshotId: SNAP, force: true }, 'force'],
    ['a point in time without zone', { pointInTime: '2026-11-27 09:00' }, 'pointInTime'],
    ['an unknown snapshot', { snapshotId: 'crm-prod-20200101-0300' }, 'snapshotId'],
    ['the live instance as target', { snapshotId: SNAP, targetInstanceId: INSTANCE_ID }, 'targetInstanceId'],
  ])('refuses %s with a ValidationError naming the field and no mutating call', async (_, event, field) => {
    const { handler } = fn.load();

    const err = await handler(event).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    expect(mutatingCalls()).toEqual([]);
  });

  it.each<[string, string | undefined, RegExp]>([
    ['DB_INSTANCE_ID', undefined, /config\.DB_INSTANCE_ID: /],
    ['DB_INSTANCE_ID', '  ', /config\.DB_INSTANCE_ID: is required/],
    ['VERIFY_STATE_MACHINE_ARN', undefined, /config\.VERIFY_STATE_MACHINE_ARN: /],
    ['LOG_GROUP_KMS_KEY_ARN', undefined, /config\.LOG_GROUP_KMS_KEY_ARN: /],
    ['LOG_RETENTION_DAYS', 'forever', /config\.LOG_RETENTION_DAYS: must be an integer/],
  ])('fails at cold start with a ConfigError when %s is %j', (name, value, message) => {
    expect(() => fn.loadIsolated({ [name]: value })).toThrow(message);
  });
});
