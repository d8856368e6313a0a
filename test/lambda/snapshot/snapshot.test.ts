import {
  CreateDBSnapshotCommand,
  DBSnapshotAlreadyExistsFault,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  InvalidDBInstanceStateFault,
  InvalidDBSnapshotStateFault,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  PruneError,
  type SnapshotConfig,
  SnapshotDeferredError,
  type SnapshotDeps,
  takeScheduledSnapshot,
} from '../../../lambda/snapshot/snapshot';
import { dbSnapshot, INSTANCE_ID, MetricRecorder, PREFIX, silentLogger } from './fixtures';

const rdsMock = mockClient(RDSClient);
const NOW = new Date('2026-11-28T03:00:07.000Z');
const SLOT = new Date('2026-11-28T03:00:00Z');
const DAY = 86_400_000;

const config: SnapshotConfig = {
  instanceId: INSTANCE_ID,
  prefix: PREFIX,
  environment: 'prod',
  scheduleName: 'crm-prod-daily',
  retention: { retentionDays: 7, minKeep: 3 },
};

function deps(over: Partial<SnapshotDeps> = {}) {
  return {
    rds: new RDSClient({ region: 'eu-west-1' }),
    metrics: new MetricRecorder(),
    logger: silentLogger(),
    now: () => NOW,
    ...over,
  } as SnapshotDeps & { metrics: MetricRecorder; logger: ReturnType<typeof silentLogger> };
}

/** A managed daily snapshot `days` before NOW. */
const daily = (days: number, over: Parameters<typeof dbSnapshot>[0] extends infer T ? Partial<T> : never = {}) => {
  const at = new Date(SLOT.getTime() - days * DAY);
  const id = `${PREFIX}-${at.toISOString().slice(0, 10).replaceAll('-', '')}-0300`;
  return dbSnapshot({ DBSnapshotIdentifier: id, SnapshotCreateTime: at, ...over });
};

function describeReturns(instanceSnapshots: ReturnType<typeof dbSnapshot>[], manualCount = instanceSnapshots.length) {
  rdsMock
    .on(DescribeDBSnapshotsCommand, { DBInstanceIdentifier: INSTANCE_ID })
    .resolves({ DBSnapshots: instanceSnapshots });
  rdsMock.on(DescribeDBSnapshotsCommand, { SnapshotType: 'manual' }).resolves({
    DBSnapshots: Array.from({ length: manualCount }, (_, i) => dbSnapshot({ DBSnapshotIdentifier: `any-${i}` })),
  });
}

beforeEach(() => {
  rdsMock.reset();
  rdsMock
    .on(CreateDBSnapshotCommand)
    .resolves({ DBSnapshot: dbSnapshot({ DBSnapshotIdentifier: 'x', Status: 'creating' }) });
  rdsMock.on(DeleteDBSnapshotCommand).resolves({});
});

describe('takeScheduledSnapshot', () => {
  it('names the snapshot <prefix>-YYYYMMDD-HHMM from the scheduled time in UTC, with the managed tags', async () => {
    describeReturns([daily(1)]);
    const result = await takeScheduledSnapshot(config, deps({ schemaVersion: async () => '12' }), {
      scheduledTime: new Date('2026-11-28T04:00:59.999+01:00'),
    });

    expect(result).toMatchObject({ snapshotId: 'crm-prod-20261128-0300', outcome: 'created', schemaVersion: '12' });
    expect(rdsMock).toHaveReceivedCommandWith(CreateDBSnapshotCommand, {
      DBInstanceIdentifier: INSTANCE_ID,
      DBSnapshotIdentifier: 'crm-prod-20261128-0300',
      Tags: [
        { Key: 'managed-by', Value: 'crm-platform' },
        { Key: 'environment', Value: 'prod' },
        { Key: 'schedule', Value: 'crm-prod-daily' },
        { Key: 'schema-version', Value: '12' },
      ],
    });
  });

  it('treats a snapshot of the same slot already in the listing as success without calling CreateDBSnapshot', async () => {
    describeReturns([daily(0, { Status: 'creating' })]);
    const d = deps();
    const result = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT });

    expect(result.outcome).toBe('already-exists');
    expect(rdsMock).not.toHaveReceivedCommand(CreateDBSnapshotCommand);
    expect(d.metrics.value('SnapshotSucceeded')).toBe(1);
  });

  it('treats DBSnapshotAlreadyExistsFault from CreateDBSnapshot (a retried invocation) as success', async () => {
    describeReturns([daily(1)]);
    rdsMock.on(CreateDBSnapshotCommand).rejects(
      new DBSnapshotAlreadyExistsFault({
        message:
          'Cannot create the snapshot because a snapshot with the identifier crm-prod-20261128-0300 already exists.',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const d = deps();
    const result = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT });

    expect(result.outcome).toBe('already-exists');
    expect(d.metrics.value('SnapshotCreated')).toBe(0);
    expect(d.metrics.value('SnapshotSucceeded')).toBe(1);
  });

  it('makes the same single CreateDBSnapshot call for two invocations of the same slot', async () => {
    describeReturns([]);
    const a = await takeScheduledSnapshot(config, deps(), { scheduledTime: new Date('2026-11-28T03:00:00Z') });
    const b = await takeScheduledSnapshot(config, deps(), { scheduledTime: new Date('2026-11-28T03:00:30Z') });

    expect(b.snapshotId).toBe(a.snapshotId);
    const ids = rdsMock.commandCalls(CreateDBSnapshotCommand).map((c) => c.args[0].input.DBSnapshotIdentifier);
    expect(new Set(ids)).toEqual(new Set(['crm-prod-20261128-0300']));
  });

  it('skips with a logged reason while a snapshot of the instance is still being created', async () => {
    const creating = dbSnapshot({
      DBSnapshotIdentifier: 'rds:crm-prod-2026-11-28-02-00',
      SnapshotType: 'automated',
      Status: 'creating',
      SnapshotCreateTime: undefined,
      PercentProgress: 40,
    });
    describeReturns([daily(1), creating]);
    const d = deps();
    const result = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT });

    expect(result.outcome).toBe('skipped');
    expect(result.reason).toMatch(/rds:crm-prod-2026-11-28-02-00 of crm-prod is still being created/);
    expect(rdsMock).not.toHaveReceivedCommand(CreateDBSnapshotCommand);
    expect(d.logger.warn).toHaveBeenCalledWith('skipping snapshot', expect.objectContaining({ reason: result.reason }));
    expect(d.metrics.value('SnapshotSkipped')).toBe(1);
    expect(d.metrics.value('SnapshotSucceeded')).toBeUndefined();
  });

  it('omits the schema-version tag and logs why when the lookup fails', async () => {
    describeReturns([]);
    const d = deps({ schemaVersion: async () => Promise.reject(new Error('connect ETIMEDOUT 10.0.3.17:5432')) });
    const result = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT });

    expect(result.outcome).toBe('created');
    const tags = rdsMock.commandCalls(CreateDBSnapshotCommand)[0]!.args[0].input.Tags!;
    expect(tags.map((t) => t.Key)).toEqual(['managed-by', 'environment', 'schedule']);
    expect(d.logger.warn).toHaveBeenCalledWith(expect.stringMatching(/schema-version tag omitted/), {
      error: 'connect ETIMEDOUT 10.0.3.17:5432',
    });
  });

  it('follows Marker across several pages and prunes an expired snapshot found on the last page', async () => {
    // Answer by the Marker the paginator sends, like the real API does.
    const pages: Record<string, { DBSnapshots: ReturnType<typeof dbSnapshot>[]; Marker?: string }> = {
      first: { DBSnapshots: [daily(1), daily(2)], Marker: 'page-2' },
      'page-2': { DBSnapshots: [daily(3), daily(4)], Marker: 'page-3' },
      'page-3': { DBSnapshots: [daily(9)] },
    };
    const markers: (string | undefined)[] = [];
    rdsMock.on(DescribeDBSnapshotsCommand, { DBInstanceIdentifier: INSTANCE_ID }).callsFake((input) => {
      markers.push(input.Marker);
      expect(input.MaxRecords).toBe(100);
      return pages[input.Marker ?? 'first'];
    });
    rdsMock.on(DescribeDBSnapshotsCommand, { SnapshotType: 'manual' }).resolves({ DBSnapshots: [] });

    const result = await takeScheduledSnapshot(config, deps(), { scheduledTime: SLOT });

    expect(markers).toEqual([undefined, 'page-2', 'page-3']);
    expect(result.pruned).toEqual([daily(9).DBSnapshotIdentifier]);
    expect(rdsMock).toHaveReceivedCommandTimes(DeleteDBSnapshotCommand, 1);
  });

  it('publishes the account-wide manual snapshot count for the quota alarm', async () => {
    describeReturns([daily(1)], 83);
    const d = deps();
    const result = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT });

    expect(result.manualSnapshotCount).toBe(83);
    expect(d.metrics.value('ManualSnapshotCount')).toBe(83);
    expect(rdsMock).toHaveReceivedCommandWith(DescribeDBSnapshotsCommand, { SnapshotType: 'manual' });
  });

  it('prunes only expired managed snapshots beyond minKeep and reports the count', async () => {
    const unmanaged = dbSnapshot({
      DBSnapshotIdentifier: 'crm-prod-by-hand',
      SnapshotCreateTime: new Date(NOW.getTime() - 60 * DAY),
      TagList: [],
    });
    describeReturns([daily(1), daily(2), daily(8), daily(10), unmanaged]);
    const d = deps();
    const result = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT });

    expect(result.pruned).toEqual([daily(10).DBSnapshotIdentifier]);
    expect(d.metrics.value('SnapshotsPruned')).toBe(1);
  });

  it('does not prune when asked not to (ops snapshot now)', async () => {
    describeReturns([daily(30), daily(31), daily(32), daily(33)]);
    await takeScheduledSnapshot(config, deps(), { scheduledTime: SLOT, prune: false, scheduleTag: 'manual' });

    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBSnapshotCommand);
    expect(rdsMock).toHaveReceivedCommandWith(CreateDBSnapshotCommand, {
      Tags: expect.arrayContaining([{ Key: 'schedule', Value: 'manual' }]),
    });
  });

  it('keeps pruning after one deletion fails, then fails the run naming the snapshot', async () => {
    describeReturns([daily(1), daily(2), daily(3), daily(10), daily(11)]);
    rdsMock
      .on(DeleteDBSnapshotCommand, { DBSnapshotIdentifier: daily(11).DBSnapshotIdentifier })
      .rejects(new InvalidDBSnapshotStateFault({ message: 'Snapshot is being copied', $metadata: {} }));
    const d = deps();

    await expect(takeScheduledSnapshot(config, d, { scheduledTime: SLOT })).rejects.toThrow(
      new PruneError([{ snapshotId: daily(11).DBSnapshotIdentifier!, error: 'Snapshot is being copied' }]).message,
    );
    expect(rdsMock).toHaveReceivedCommandWith(DeleteDBSnapshotCommand, {
      DBSnapshotIdentifier: daily(10).DBSnapshotIdentifier,
    });
    expect(d.metrics.value('SnapshotSucceeded')).toBe(1);
  });
});

/** CreateDBSnapshot's answer while the instance is backing up, as the SDK raises it. */
const backingUp = () =>
  new InvalidDBInstanceStateFault({
    message: 'Cannot create a snapshot because the database instance crm-prod is not currently in the available state.',
    $metadata: { httpStatusCode: 400 },
  });

/** deps whose clock advances only when the core sleeps: no wall-clock time in tests. */
function clockedDeps() {
  let t = NOW.getTime();
  const sleeps: number[] = [];
  const d = deps({
    now: () => new Date(t),
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  });
  return { d, sleeps };
}
const WAIT = { maxWaitMs: 600_000, pollIntervalMs: 30_000 };

describe('takeScheduledSnapshot while the instance is busy (backup window, modification)', () => {
  it('waits while CreateDBSnapshot answers InvalidDBInstanceState, then takes the snapshot', async () => {
    describeReturns([daily(1)]);
    rdsMock
      .on(CreateDBSnapshotCommand)
      .rejectsOnce(backingUp())
      .rejectsOnce(backingUp())
      .resolves({ DBSnapshot: dbSnapshot({ DBSnapshotIdentifier: 'crm-prod-20261128-0300', Status: 'creating' }) });
    const { d, sleeps } = clockedDeps();

    const result = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT, waitWhileBusy: WAIT });

    expect(result.outcome).toBe('created');
    expect(sleeps).toEqual([30_000, 30_000]);
    expect(rdsMock).toHaveReceivedCommandTimes(CreateDBSnapshotCommand, 3);
    expect(d.metrics.value('SnapshotSucceeded')).toBe(1);
    expect(d.metrics.value('SnapshotDeferred')).toBeUndefined();
  });

  it('also recognises the error by its wire code InvalidDBInstanceState', async () => {
    describeReturns([]);
    const raw = Object.assign(new Error('DB instance is not available'), { name: 'InvalidDBInstanceState' });
    rdsMock.on(CreateDBSnapshotCommand).rejectsOnce(raw).resolves({});
    const { d, sleeps } = clockedDeps();

    const result = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT, waitWhileBusy: WAIT });

    expect(result.outcome).toBe('created');
    expect(sleeps).toHaveLength(1);
  });

  it('waits for an automated backup still being created, then takes the snapshot', async () => {
    const automated = dbSnapshot({
      DBSnapshotIdentifier: 'rds:crm-prod-2026-11-28-02-00',
      SnapshotType: 'automated',
      Status: 'creating',
      SnapshotCreateTime: undefined,
      PercentProgress: 80,
    });
    rdsMock
      .on(DescribeDBSnapshotsCommand, { DBInstanceIdentifier: INSTANCE_ID })
      .resolvesOnce({ DBSnapshots: [daily(1), automated] })
      .resolves({ DBSnapshots: [daily(1), { ...automated, Status: 'available', PercentProgress: 100 }] });
    rdsMock.on(DescribeDBSnapshotsCommand, { SnapshotType: 'manual' }).resolves({ DBSnapshots: [daily(1)] });
    const { d, sleeps } = clockedDeps();

    const result = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT, waitWhileBusy: WAIT });

    expect(result.outcome).toBe('created');
    expect(sleeps).toEqual([30_000]);
    expect(rdsMock).toHaveReceivedCommandTimes(CreateDBSnapshotCommand, 1);
  });

  it('fails with the retryable SnapshotDeferredError and counts SnapshotDeferred when the wait runs out', async () => {
    describeReturns([daily(1)]);
    rdsMock.on(CreateDBSnapshotCommand).rejects(backingUp());
    const { d, sleeps } = clockedDeps();

    const err = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT, waitWhileBusy: WAIT }).catch(
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(SnapshotDeferredError);
    expect((err as Error).name).toBe('SnapshotDeferredError');
    expect((err as Error).message).toMatch(
      /snapshot crm-prod-20261128-0300 deferred: crm-prod cannot be snapshotted now .*not currently in the available state.*waited 600 s/,
    );
    expect(sleeps.reduce((a, b) => a + b, 0)).toBe(600_000);
    expect(d.metrics.value('SnapshotDeferred')).toBe(1);
    expect(d.metrics.value('SnapshotSucceeded')).toBeUndefined();
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBSnapshotCommand);
  });

  it('without a wait (ops snapshot now) reports skipped at once, naming the reason', async () => {
    describeReturns([daily(1)]);
    rdsMock.on(CreateDBSnapshotCommand).rejects(backingUp());
    const { d, sleeps } = clockedDeps();

    const result = await takeScheduledSnapshot(config, d, { scheduledTime: SLOT });

    expect(result).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/cannot be snapshotted now/) });
    expect(sleeps).toEqual([]);
    expect(d.metrics.value('SnapshotSkipped')).toBe(1);
  });

  it('rethrows any other CreateDBSnapshot error without waiting', async () => {
    describeReturns([]);
    rdsMock
      .on(CreateDBSnapshotCommand)
      .rejects(new Error('AccessDenied: not authorized to perform rds:CreateDBSnapshot'));
    const { d, sleeps } = clockedDeps();

    await expect(takeScheduledSnapshot(config, d, { scheduledTime: SLOT, waitWhileBusy: WAIT })).rejects.toThrow(
      /AccessDenied/,
    );
    expect(sleeps).toEqual([]);
  });
});

describe('takeScheduledSnapshot: a retried invocation of a slot (Lambda asynchronous retry)', () => {
  it('after a deferral, the retry of the same slot takes the one snapshot', async () => {
    describeReturns([daily(1)]);
    rdsMock.on(CreateDBSnapshotCommand).rejects(backingUp());
    await expect(
      takeScheduledSnapshot(config, clockedDeps().d, { scheduledTime: SLOT, waitWhileBusy: WAIT }),
    ).rejects.toBeInstanceOf(SnapshotDeferredError);

    rdsMock.on(CreateDBSnapshotCommand).resolves({});
    const retry = await takeScheduledSnapshot(config, clockedDeps().d, { scheduledTime: SLOT, waitWhileBusy: WAIT });

    expect(retry).toMatchObject({ snapshotId: 'crm-prod-20261128-0300', outcome: 'created' });
  });

  it('after a run that created the snapshot but failed pruning, the retry creates no second snapshot', async () => {
    const slotSnapshot = dbSnapshot({ DBSnapshotIdentifier: 'crm-prod-20261128-0300', Status: 'creating' });
    rdsMock
      .on(DescribeDBSnapshotsCommand, { DBInstanceIdentifier: INSTANCE_ID })
      .resolvesOnce({ DBSnapshots: [daily(1), daily(2), daily(3), daily(10)] })
      .resolves({ DBSnapshots: [slotSnapshot, daily(1), daily(2), daily(3)] });
    rdsMock.on(DescribeDBSnapshotsCommand, { SnapshotType: 'manual' }).resolves({ DBSnapshots: [] });
    rdsMock.on(DeleteDBSnapshotCommand).rejectsOnce(new Error('Throttling: Rate exceeded')).resolves({});

    await expect(takeScheduledSnapshot(config, clockedDeps().d, { scheduledTime: SLOT })).rejects.toBeInstanceOf(
      PruneError,
    );
    const retry = await takeScheduledSnapshot(config, clockedDeps().d, { scheduledTime: SLOT });

    expect(retry.outcome).toBe('already-exists');
    expect(rdsMock).toHaveReceivedCommandTimes(CreateDBSnapshotCommand, 1);
  });
});
