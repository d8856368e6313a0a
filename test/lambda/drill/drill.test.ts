import {
  CloudWatchLogsClient,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { DescribeStateMachineCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  type DrillConfig,
  DrillGuardError,
  deleteDrillInstance,
  drillFreshness,
  pickNewestSnapshot,
  recordDrill,
  sweepDrillLeftovers,
  validateDrillConfig,
} from '../../../lambda/drill/drill';
import { ACCOUNT, dbInstance, dbSnapshot, INSTANCE_ID, MetricRecorder, PREFIX, REGION } from '../snapshot/fixtures';

const rds = new RDSClient({ region: REGION });
const sfn = new SFNClient({ region: REGION });
const logs = new CloudWatchLogsClient({ region: REGION });
const rdsMock = mockClient(rds);
const sfnMock = mockClient(sfn);
const logsMock = mockClient(logs);
const clients = { rds, logs };
const config: DrillConfig = { liveInstanceId: INSTANCE_ID, snapshotPrefix: PREFIX, drillPrefix: 'crm-prod-drill' };
const DRILL_ID = 'crm-prod-drill-20261201-0400';
const drillTags = [
  { Key: 'environment', Value: 'prod' },
  { Key: 'drill', Value: 'true' },
];

beforeEach(() => {
  rdsMock.reset();
  sfnMock.reset();
  logsMock.reset();
  logsMock.on(DeleteLogGroupCommand).resolves({});
  logsMock.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
  rdsMock
    .on(DeleteDBInstanceCommand)
    .resolves({ DBInstance: dbInstance({ DBInstanceIdentifier: DRILL_ID, DBInstanceStatus: 'deleting' }) });
});

const instanceIs = (over: Parameters<typeof dbInstance>[0]) =>
  rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [dbInstance(over)] });

describe('deleteDrillInstance guard', () => {
  it('deletes a tagged drill instance without a final snapshot and with its automated backups', async () => {
    instanceIs({ DBInstanceIdentifier: DRILL_ID, TagList: drillTags, DeletionProtection: false });

    expect(await deleteDrillInstance(clients, config, DRILL_ID)).toEqual({
      targetInstanceId: DRILL_ID,
      outcome: 'deleting',
      // Not yet: RDS may still write to them while the instance is deleting (the sweep removes them).
      logGroupsDeleted: [],
    });
    expect(logsMock).not.toHaveReceivedCommand(DeleteLogGroupCommand);
    expect(rdsMock).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: DRILL_ID,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    });
  });

  it("deletes the drill instance's RDS log groups, and only those, once the instance is gone", async () => {
    rdsMock
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));

    await deleteDrillInstance(clients, config, DRILL_ID);

    expect(logsMock.commandCalls(DeleteLogGroupCommand).map((c) => c.args[0].input.logGroupName)).toEqual([
      `/aws/rds/instance/${DRILL_ID}/postgresql`,
      `/aws/rds/instance/${DRILL_ID}/upgrade`,
    ]);
  });

  it('tolerates log groups that do not exist (never exported, or deleted before)', async () => {
    rdsMock
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));
    logsMock
      .on(DeleteLogGroupCommand, { logGroupName: `/aws/rds/instance/${DRILL_ID}/upgrade` })
      .rejects(new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: {} }));

    expect(await deleteDrillInstance(clients, config, DRILL_ID)).toMatchObject({
      outcome: 'already-deleted',
      logGroupsDeleted: [`/aws/rds/instance/${DRILL_ID}/postgresql`],
    });
  });

  it('fails on any other log-group error', async () => {
    rdsMock
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));
    logsMock.on(DeleteLogGroupCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: logs:DeleteLogGroup'), {
        name: 'AccessDeniedException',
      }),
    );

    await expect(deleteDrillInstance(clients, config, DRILL_ID)).rejects.toThrow(/not authorized/);
  });

  it.each<[string, string, Parameters<typeof dbInstance>[0] | undefined, RegExp]>([
    [
      'the live instance',
      INSTANCE_ID,
      { DBInstanceIdentifier: INSTANCE_ID, TagList: drillTags, DeletionProtection: false },
      /drill instances are named crm-prod-drill-\*/,
    ],
    [
      'an operator restore',
      'crm-prod-restore-20261128-1100',
      { DBInstanceIdentifier: 'crm-prod-restore-20261128-1100', TagList: drillTags, DeletionProtection: false },
      /named crm-prod-drill-\*/,
    ],
    [
      'a lookalike prefix',
      'crm-prod-drillx-1',
      { DBInstanceIdentifier: 'crm-prod-drillx-1', TagList: drillTags, DeletionProtection: false },
      /named crm-prod-drill-\*/,
    ],
    [
      'the bare prefix',
      'crm-prod-drill',
      { DBInstanceIdentifier: 'crm-prod-drill', TagList: drillTags, DeletionProtection: false },
      /named crm-prod-drill-\*/,
    ],
    [
      'a drill-named instance without the drill tag',
      DRILL_ID,
      { DBInstanceIdentifier: DRILL_ID, TagList: [{ Key: 'environment', Value: 'prod' }], DeletionProtection: false },
      /has no drill=true tag/,
    ],
    [
      'a drill-named instance tagged drill=false',
      DRILL_ID,
      { DBInstanceIdentifier: DRILL_ID, TagList: [{ Key: 'drill', Value: 'false' }], DeletionProtection: false },
      /has no drill=true tag/,
    ],
    [
      'a drill instance with deletion protection on',
      DRILL_ID,
      { DBInstanceIdentifier: DRILL_ID, TagList: drillTags, DeletionProtection: true },
      /deletion protection is on/,
    ],
  ])('refuses %s and deletes nothing', async (_, id, instance, message) => {
    if (instance) instanceIs(instance);

    const err = await deleteDrillInstance(clients, config, id).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(DrillGuardError);
    expect((err as Error).name).toBe('DrillGuardError');
    expect((err as Error).message).toMatch(message);
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(logsMock).not.toHaveReceivedCommand(DeleteLogGroupCommand);
  });

  it('refuses a drill prefix that the live instance id starts with', () => {
    expect(() => validateDrillConfig({ ...config, liveInstanceId: 'crm-prod-drill-db' })).toThrow(
      /config\.DRILL_PREFIX/,
    );
    expect(() => validateDrillConfig({ ...config, drillPrefix: INSTANCE_ID })).toThrow(/would match the live instance/);
  });

  it('treats an instance that is already gone as deleted', async () => {
    rdsMock
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));
    expect(await deleteDrillInstance(clients, config, DRILL_ID)).toEqual({
      targetInstanceId: DRILL_ID,
      outcome: 'already-deleted',
      logGroupsDeleted: [`/aws/rds/instance/${DRILL_ID}/postgresql`, `/aws/rds/instance/${DRILL_ID}/upgrade`],
    });
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });
});

describe('sweepDrillLeftovers', () => {
  const NOW = new Date('2026-12-01T04:00:00Z');
  const old = new Date('2026-11-01T04:00:00Z');
  const LEFTOVER = 'crm-prod-drill-20261101-0400';
  const UNTAGGED = 'crm-prod-drill-20261102-0400';
  const RUNNING = 'crm-prod-drill-20261201-0350';
  const PROTECTED = 'crm-prod-drill-20261103-0400';
  const instances = [
    // The live instance, tagged drill=true by mistake and old: never a candidate.
    dbInstance({ TagList: drillTags, DeletionProtection: false, InstanceCreateTime: old }),
    dbInstance({ DBInstanceIdentifier: 'crm-prod-restore-20261110-1200', TagList: drillTags, InstanceCreateTime: old }),
    dbInstance({ DBInstanceIdentifier: 'crm-prod-drillx-1', TagList: drillTags, InstanceCreateTime: old }),
    dbInstance({
      DBInstanceIdentifier: LEFTOVER,
      TagList: drillTags,
      DeletionProtection: false,
      InstanceCreateTime: old,
    }),
    dbInstance({
      DBInstanceIdentifier: UNTAGGED,
      TagList: [{ Key: 'environment', Value: 'prod' }],
      DeletionProtection: false,
      InstanceCreateTime: old,
    }),
    dbInstance({
      DBInstanceIdentifier: RUNNING,
      TagList: drillTags,
      DeletionProtection: false,
      InstanceCreateTime: new Date('2026-12-01T03:55:00Z'),
    }),
    dbInstance({
      DBInstanceIdentifier: PROTECTED,
      TagList: drillTags,
      DeletionProtection: true,
      InstanceCreateTime: old,
    }),
  ];

  beforeEach(() => {
    rdsMock.on(DescribeDBInstancesCommand, {}).resolves({ DBInstances: instances });
    for (const i of instances)
      rdsMock
        .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: i.DBInstanceIdentifier })
        .resolves({ DBInstances: [i] });
  });

  it('deletes only old drill-prefixed instances tagged drill=true', async () => {
    const result = await sweepDrillLeftovers(clients, config, { minAgeMinutes: 150, now: NOW });

    expect(rdsMock.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input.DBInstanceIdentifier)).toEqual([
      LEFTOVER,
    ]);
    expect(result.deleted.map((d) => d.targetInstanceId)).toEqual([LEFTOVER]);
  });

  it('deletes the log groups of drill instances that are gone, and no other log group', async () => {
    const GONE = 'crm-prod-drill-20261001-0400';
    const groups = [
      `/aws/rds/instance/${GONE}/postgresql`,
      `/aws/rds/instance/${GONE}/upgrade`,
      // An instance that still exists (running, or being deleted): RDS may still write to it.
      `/aws/rds/instance/${RUNNING}/postgresql`,
      `/aws/rds/instance/${LEFTOVER}/postgresql`,
      // Another log type, and a name RDS does not make: not the drill's to delete.
      `/aws/rds/instance/${GONE}/iam-db-auth-error`,
      `/aws/rds/instance/${GONE}/postgresql/extra`,
    ];
    logsMock
      .on(DescribeLogGroupsCommand, { logGroupNamePrefix: '/aws/rds/instance/crm-prod-drill-' })
      .resolves({ logGroups: groups.map((logGroupName) => ({ logGroupName })) });

    const result = await sweepDrillLeftovers(clients, config, { minAgeMinutes: 150, now: NOW });

    const deletedGroups = [`/aws/rds/instance/${GONE}/postgresql`, `/aws/rds/instance/${GONE}/upgrade`];
    expect(logsMock.commandCalls(DeleteLogGroupCommand).map((c) => c.args[0].input.logGroupName)).toEqual(
      deletedGroups,
    );
    expect(result.logGroupsDeleted).toEqual(deletedGroups);
  });

  it('never deletes the live instance, operator restores, untagged, protected or running drill instances', async () => {
    const result = await sweepDrillLeftovers(clients, config, { minAgeMinutes: 150, now: NOW });

    const deleted = rdsMock.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input.DBInstanceIdentifier);
    for (const id of [INSTANCE_ID, 'crm-prod-restore-20261110-1200', 'crm-prod-drillx-1', UNTAGGED, RUNNING, PROTECTED])
      expect(deleted).not.toContain(id);
    expect(result.skipped.map((s) => s.instanceId).sort()).toEqual([PROTECTED, RUNNING, UNTAGGED].sort());
    expect(result.skipped.find((s) => s.instanceId === UNTAGGED)?.reason).toMatch(/no drill=true tag/);
  });

  it('deletes nothing when there are no leftovers', async () => {
    rdsMock.on(DescribeDBInstancesCommand, {}).resolves({ DBInstances: [dbInstance()] });

    expect(await sweepDrillLeftovers(clients, config, { minAgeMinutes: 150, now: NOW })).toEqual({
      deleted: [],
      skipped: [],
      logGroupsDeleted: [],
    });
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(logsMock).not.toHaveReceivedCommand(DeleteLogGroupCommand);
  });
});

describe('pickNewestSnapshot', () => {
  it('picks the newest available managed snapshot, skipping newer unmanaged or creating ones', async () => {
    const at = (iso: string) => new Date(iso);
    rdsMock.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [
        dbSnapshot({ DBSnapshotIdentifier: `${PREFIX}-20261129-0300`, SnapshotCreateTime: at('2026-11-29T03:00:40Z') }),
        dbSnapshot({ DBSnapshotIdentifier: `${PREFIX}-20261130-0300`, SnapshotCreateTime: at('2026-11-30T03:00:40Z') }),
        dbSnapshot({
          DBSnapshotIdentifier: `${PREFIX}-20261201-0300`,
          Status: 'creating',
          SnapshotCreateTime: undefined,
        }),
        dbSnapshot({
          DBSnapshotIdentifier: 'crm-prod-by-hand',
          SnapshotCreateTime: at('2026-12-01T01:00:00Z'),
          TagList: [],
        }),
      ],
    });

    expect(await pickNewestSnapshot(rds, config)).toEqual({
      snapshotId: `${PREFIX}-20261130-0300`,
      snapshotArn: `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:${PREFIX}-20261130-0300`,
      snapshotCreateTime: '2026-11-30T03:00:40.000Z',
    });
  });

  it('fails clearly when there is nothing to drill with', async () => {
    rdsMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
    await expect(pickNewestSnapshot(rds, config)).rejects.toThrow(/no available managed snapshot of crm-prod/);
  });
});

describe('recordDrill and drillFreshness', () => {
  it('records success with the drill duration', () => {
    const m = new MetricRecorder();
    expect(recordDrill(m, true, '2026-12-01T04:00:00Z', new Date('2026-12-01T04:31:00Z'))).toEqual({
      succeeded: true,
      durationSeconds: 1860,
    });
    expect(m.metrics).toEqual([
      { name: 'DrillSucceeded', unit: 'Count', value: 1 },
      { name: 'DrillFailed', unit: 'Count', value: 0 },
      { name: 'DrillDurationSeconds', unit: 'Seconds', value: 1860 },
    ]);
  });

  it('records failure without a duration', () => {
    const m = new MetricRecorder();
    recordDrill(m, false, '2026-12-01T04:00:00Z', new Date('2026-12-01T04:31:00Z'));
    expect(m.value('DrillFailed')).toBe(1);
    expect(m.value('DrillDurationSeconds')).toBeUndefined();
  });

  const SM = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:crm-prod-restore-drill`;

  it('reports days since the last successful drill execution', async () => {
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: `${SM.replace(':stateMachine:', ':execution:')}:drill-20261101`,
          stateMachineArn: SM,
          name: 'drill-20261101',
          status: 'SUCCEEDED',
          startDate: new Date('2026-11-01T04:00:00Z'),
          stopDate: new Date('2026-11-01T04:40:00Z'),
        },
      ],
    });
    const m = new MetricRecorder();
    expect(await drillFreshness(sfn, m, SM, new Date('2026-12-07T05:00:00Z'))).toEqual({
      daysSinceLastSuccess: 36,
      lastSuccessAt: '2026-11-01T04:40:00.000Z',
    });
    expect(m.value('DaysSinceLastDrillSuccess')).toBe(36);
    expect(sfnMock).toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: SM,
      statusFilter: 'SUCCEEDED',
      maxResults: 1,
    });
  });

  it('counts from the state machine creation when no drill ever succeeded', async () => {
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    sfnMock.on(DescribeStateMachineCommand).resolves({
      stateMachineArn: SM,
      name: 'crm-prod-restore-drill',
      status: 'ACTIVE',
      definition: '{"StartAt":"PickSnapshot","States":{}}',
      roleArn: `arn:aws:iam::${ACCOUNT}:role/crm-prod-restore-drill`,
      type: 'STANDARD',
      creationDate: new Date('2026-11-20T00:00:00Z'),
    });
    expect(
      (await drillFreshness(sfn, new MetricRecorder(), SM, new Date('2026-11-30T00:00:00Z'))).daysSinceLastSuccess,
    ).toBe(10);
  });
});
