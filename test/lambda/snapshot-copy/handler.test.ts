import { CopyDBSnapshotCommand, DescribeDBSnapshotsCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ValidationError } from '../../../lambda/shared/errors';
import type { CopyResult } from '../../../lambda/snapshot-copy/copy';
import { coldStart, type Env, QUIET_LAMBDA_ENV } from '../cold-start';
import { dbSnapshot, INSTANCE_ID, KMS_KEY_ARN, PREFIX, REGION } from '../snapshot/fixtures';
import { DEST, DEST_KEY, SNAP_ARN, SNAP_ID, snapshotCreatedEvent } from './fixtures';

// Source and destination are both RDSClients: the class mock answers both, told apart by request.
const rdsMock = mockClient(RDSClient);

const fn = coldStart<{ handler: (event: unknown) => Promise<CopyResult> }>('lambda/snapshot-copy/handler', {
  ...QUIET_LAMBDA_ENV,
  AWS_REGION: REGION,
  DB_INSTANCE_ID: INSTANCE_ID,
  SNAPSHOT_PREFIX: PREFIX.toUpperCase(),
  DESTINATION_REGION: DEST,
  DESTINATION_KMS_KEY_ARN: DEST_KEY,
  METRICS_NAMESPACE: 'CRM/Ops',
});

beforeEach(() => {
  rdsMock.reset();
  rdsMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
  rdsMock
    .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SNAP_ID })
    .resolves({ DBSnapshots: [dbSnapshot({ DBSnapshotIdentifier: SNAP_ID })] });
  rdsMock.on(CopyDBSnapshotCommand).resolves({});
});
afterEach(() => fn.restoreEnv());

describe('snapshot-copy handler', () => {
  it('copies the snapshot of the event to DESTINATION_REGION with DESTINATION_KMS_KEY_ARN', async () => {
    const { handler } = fn.load();

    const result = await handler(snapshotCreatedEvent());

    expect(result).toEqual({ snapshotId: SNAP_ID, outcome: 'copy-started', destinationRegion: DEST, pruned: [] });
    expect(rdsMock).toHaveReceivedCommandTimes(CopyDBSnapshotCommand, 1);
    const copy = rdsMock.commandCalls(CopyDBSnapshotCommand)[0]!;
    expect(copy.args[0].input).toMatchObject({
      SourceDBSnapshotIdentifier: SNAP_ARN,
      TargetDBSnapshotIdentifier: SNAP_ID,
      KmsKeyId: DEST_KEY,
    });
    // The copy is requested from the destination region's client (sinon records the receiver).
    expect(await (copy.thisValue as RDSClient).config.region()).toBe(DEST);
  });

  it('matches snapshots against SNAPSHOT_PREFIX case-insensitively, as RDS stores identifiers', async () => {
    const { handler } = fn.load();

    const result = await handler(snapshotCreatedEvent({ SourceIdentifier: 'someone-elses-20261128-0300' }));

    expect(result).toMatchObject({ outcome: 'ignored', reason: `not named ${PREFIX}-*` });
    expect(rdsMock).not.toHaveReceivedCommand(CopyDBSnapshotCommand);
  });

  it.each<[string, unknown, string]>([
    ['an event of another source', { ...snapshotCreatedEvent(), source: 'aws.ec2' }, 'source'],
    ['an event without the snapshot id', snapshotCreatedEvent({ SourceIdentifier: '' }), 'detail.SourceIdentifier'],
    ['no event at all', undefined, 'event'],
  ])('refuses %s with a ValidationError naming the field and copies nothing', async (_, event, field) => {
    const { handler } = fn.load();

    const err = await handler(event).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    expect(rdsMock.calls()).toHaveLength(0);
  });

  it.each<[string, Env, RegExp]>([
    ['DESTINATION_REGION is unset', { DESTINATION_REGION: undefined }, /config\.DESTINATION_REGION: /],
    [
      'DESTINATION_REGION is the source region',
      { DESTINATION_REGION: REGION, DESTINATION_KMS_KEY_ARN: KMS_KEY_ARN },
      /config\.DESTINATION_REGION: must differ from the source region eu-west-1/,
    ],
    [
      'DESTINATION_KMS_KEY_ARN is unset',
      { DESTINATION_KMS_KEY_ARN: undefined },
      /config\.DESTINATION_KMS_KEY_ARN: is required/,
    ],
    [
      'DESTINATION_KMS_KEY_ARN is aws/rds',
      { DESTINATION_KMS_KEY_ARN: 'alias/aws/rds' },
      /config\.DESTINATION_KMS_KEY_ARN: is the AWS managed key aws\/rds/,
    ],
    ['RETENTION_DAYS is 0', { RETENTION_DAYS: '0' }, /config\.RETENTION_DAYS: must be an integer >= 1 \(got "0"\)/],
    ['METRICS_NAMESPACE is empty', { METRICS_NAMESPACE: '' }, /config\.METRICS_NAMESPACE: is required/],
  ])('fails at cold start with a ConfigError when %s', (_, overrides, message) => {
    expect(() => fn.loadIsolated(overrides)).toThrow(message);
  });
});
