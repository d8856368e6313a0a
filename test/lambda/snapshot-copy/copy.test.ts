import {
  CopyDBSnapshotCommand,
  DBInstanceNotFoundFault,
  DBSnapshotAlreadyExistsFault,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  type DescribeDBSnapshotsMessage,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type CopyConfig, copyManagedSnapshot } from '../../../lambda/snapshot-copy/copy';
import { RdsSnapshotEvent } from '../../../lambda/snapshot-copy/event';
import { destinationKeyProblem } from '../../../lambda/snapshot-copy/kms-key';
import { ACCOUNT, dbSnapshot, INSTANCE_ID, MetricRecorder, PREFIX, REGION, silentLogger } from '../snapshot/fixtures';
import { DEST, DEST_KEY, SNAP_ARN, SNAP_ID, snapshotCreatedEvent } from './fixtures';

const NOW = new Date('2026-11-28T03:20:00Z');
const DAY = 86_400_000;

const event = (detail: Record<string, unknown> = {}) => RdsSnapshotEvent.parse(snapshotCreatedEvent(detail));

const config: CopyConfig = {
  instanceId: INSTANCE_ID,
  prefix: PREFIX,
  sourceRegion: REGION,
  destinationRegion: DEST,
  destinationKmsKeyArn: DEST_KEY,
  retention: { retentionDays: 7, minKeep: 2 },
};

const source = new RDSClient({ region: REGION });
const destination = new RDSClient({ region: DEST });
const sourceMock = mockClient(source);
const destMock = mockClient(destination);
const deps = () => ({ source, destination, metrics: new MetricRecorder(), logger: silentLogger(), now: () => NOW });

const copyAt = (days: number) => {
  const at = new Date(NOW.getTime() - days * DAY);
  const id = `${PREFIX}-${at.toISOString().slice(0, 10).replaceAll('-', '')}-0300`;
  return dbSnapshot({
    DBSnapshotIdentifier: id,
    SnapshotCreateTime: at,
    SourceRegion: REGION,
    DBSnapshotArn: `arn:aws:rds:${DEST}:${ACCOUNT}:snapshot:${id}`,
  });
};

beforeEach(() => {
  sourceMock.reset();
  destMock.reset();
  sourceMock.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SNAP_ID }).resolves({
    DBSnapshots: [dbSnapshot({ DBSnapshotIdentifier: SNAP_ID, SnapshotCreateTime: new Date('2026-11-28T03:00:41Z') })],
  });
  destMock.on(CopyDBSnapshotCommand).resolves({});
  destMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
  destMock.on(DeleteDBSnapshotCommand).resolves({});
});

/**
 * DescribeDBSnapshots in the destination region, answering as the real API does there: the live
 * instance does not exist in that region, so asking by DBInstanceIdentifier is DBInstanceNotFound.
 */
function destinationRegionHolds(snapshots: ReturnType<typeof dbSnapshot>[]) {
  destMock.on(DescribeDBSnapshotsCommand).callsFake((input: DescribeDBSnapshotsMessage) => {
    if (input.DBInstanceIdentifier) {
      throw new DBInstanceNotFoundFault({
        message: `DBInstance ${input.DBInstanceIdentifier} not found.`,
        $metadata: { httpStatusCode: 404 },
      });
    }
    return { DBSnapshots: snapshots.filter((x) => !input.SnapshotType || x.SnapshotType === input.SnapshotType) };
  });
}

describe('copyManagedSnapshot', () => {
  it('copies the managed snapshot to the destination region with the customer managed key and its tags', async () => {
    const result = await copyManagedSnapshot(config, deps(), event());

    expect(result).toMatchObject({ outcome: 'copy-started', snapshotId: SNAP_ID, destinationRegion: DEST });
    expect(destMock).toHaveReceivedCommandWith(CopyDBSnapshotCommand, {
      SourceDBSnapshotIdentifier: SNAP_ARN,
      TargetDBSnapshotIdentifier: SNAP_ID,
      KmsKeyId: DEST_KEY,
      Tags: expect.arrayContaining([
        { Key: 'managed-by', Value: 'crm-platform' },
        { Key: 'copied-from', Value: SNAP_ARN },
      ]),
    });
    expect(sourceMock).not.toHaveReceivedCommand(CopyDBSnapshotCommand);
  });

  it('treats an existing copy (redelivered event) as success', async () => {
    destMock.on(CopyDBSnapshotCommand).rejects(new DBSnapshotAlreadyExistsFault({ message: 'exists', $metadata: {} }));
    expect((await copyManagedSnapshot(config, deps(), event())).outcome).toBe('already-exists');
  });

  it.each([
    [
      'an automated snapshot event',
      {
        EventID: 'RDS-EVENT-0091',
        SourceIdentifier: 'rds:crm-prod-2026-11-28-02-00',
        Message: 'Automated snapshot created',
      },
    ],
    ['a snapshot not named with the prefix', { SourceIdentifier: 'someone-elses-snapshot' }],
  ])('ignores %s without any copy', async (_, detail) => {
    const result = await copyManagedSnapshot(config, deps(), event(detail));
    expect(result.outcome).toBe('ignored');
    expect(destMock).not.toHaveReceivedCommand(CopyDBSnapshotCommand);
  });

  it('ignores a prefixed snapshot that carries no managed-by tag', async () => {
    sourceMock
      .on(DescribeDBSnapshotsCommand)
      .resolves({ DBSnapshots: [dbSnapshot({ DBSnapshotIdentifier: SNAP_ID, TagList: [] })] });
    const result = await copyManagedSnapshot(config, deps(), event());
    expect(result).toMatchObject({ outcome: 'ignored', reason: 'no managed-by tag' });
    expect(destMock).not.toHaveReceivedCommand(CopyDBSnapshotCommand);
  });

  it('finds and prunes the copies in the destination region, where the live instance does not exist', async () => {
    const copies = [
      copyAt(0),
      copyAt(1),
      copyAt(8),
      copyAt(9),
      dbSnapshot({
        DBSnapshotIdentifier: 'foreign-copy',
        SnapshotCreateTime: new Date(NOW.getTime() - 50 * DAY),
        TagList: [],
      }),
      // Managed, but another environment's prefix: never this function's to delete.
      dbSnapshot({
        DBSnapshotIdentifier: 'crm-dev-20261001-0300',
        DBInstanceIdentifier: 'crm-dev',
        SnapshotCreateTime: new Date(NOW.getTime() - 58 * DAY),
      }),
    ];
    destinationRegionHolds(copies);
    const d = deps();

    const result = await copyManagedSnapshot(config, d, event());

    expect([...result.pruned].sort()).toEqual([copyAt(8).DBSnapshotIdentifier, copyAt(9).DBSnapshotIdentifier].sort());
    expect(destMock).toHaveReceivedCommandTimes(DeleteDBSnapshotCommand, 2);
    expect(sourceMock).not.toHaveReceivedCommand(DeleteDBSnapshotCommand);
    expect(d.metrics.value('SnapshotCopiesPruned')).toBe(2);
  });

  it('never prunes the destination below the configured minimum', async () => {
    destinationRegionHolds([copyAt(20), copyAt(21), copyAt(22), copyAt(23)]);

    const result = await copyManagedSnapshot(config, deps(), event());

    // minKeep 2: the two newest survive although every copy is past retention.
    expect([...result.pruned].sort()).toEqual(
      [copyAt(22).DBSnapshotIdentifier, copyAt(23).DBSnapshotIdentifier].sort(),
    );
    for (const kept of [copyAt(20), copyAt(21)]) {
      expect(destMock).not.toHaveReceivedCommandWith(DeleteDBSnapshotCommand, {
        DBSnapshotIdentifier: kept.DBSnapshotIdentifier,
      });
    }
  });

  it('refuses the aws/rds key before any call', async () => {
    await expect(
      copyManagedSnapshot({ ...config, destinationKmsKeyArn: 'alias/aws/rds' }, deps(), event()),
    ).rejects.toThrow(
      /config\.DESTINATION_KMS_KEY_ARN: is the AWS managed key aws\/rds; cross-region copies need a customer managed KMS key in eu-central-1/,
    );
    expect(sourceMock.calls()).toHaveLength(0);
    expect(destMock.calls()).toHaveLength(0);
  });
});

describe('destinationKeyProblem', () => {
  it.each([
    ['alias/aws/rds', /AWS managed key aws\/rds/],
    ['aws/rds', /AWS managed key aws\/rds/],
    [`arn:aws:kms:${DEST}:${ACCOUNT}:alias/aws/rds`, /AWS managed key aws\/rds/],
    ['alias/crm-backups', /is an alias/],
    ['', /is required/],
    ['1234abcd-12ab-34cd-56ef-1234567890ab', /must be a KMS key ARN/],
    [
      `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      /is a key in eu-west-1, but copies are made in eu-central-1/,
    ],
  ])('refuses %j', (key, message) => {
    expect(destinationKeyProblem(key, DEST)).toMatch(message);
  });

  it('accepts a key ARN in the destination region', () => {
    expect(destinationKeyProblem(DEST_KEY, DEST)).toBeUndefined();
  });
});

describe('RdsSnapshotEvent', () => {
  it('rejects an event of another detail-type', () => {
    expect(RdsSnapshotEvent.safeParse({ ...event(), 'detail-type': 'RDS DB Instance Event' }).success).toBe(false);
  });
});
