/**
 * The monthly restore drill as deployed: the synthesised `crm-prod-restore-drill` definition, run by
 * a real ASL interpreter, its tasks invoking the synthesised, minified drill, status and verify
 * bundles; RDS, CloudWatch Logs, Secrets Manager and SNS faked, PostgreSQL 18 real (verified TLS).
 */
import {
  CloudWatchLogsClient,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DeleteDBInstanceCommand,
  InvalidDBInstanceStateFault,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { runMigrations } from '../../lambda/migrate/runner';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { dbInstance, dbSnapshot } from '../lambda/snapshot/fixtures';
import { type FakeRds, fakeRds, functionId, masterSecretValue } from './fixtures';
import { BundledFunction, definitionOf, execute, type SynthesisedOps, synthesiseOps } from './harness';

const caFile = process.env.TEST_TLS_CA_FILE;
// Skipped only when the openssl CLI was missing at globalSetup (it ships with this project's machines).
const describeTls = caFile ? describe : describe.skip;

const rdsMock = mockClient(RDSClient);
const logsMock = mockClient(CloudWatchLogsClient);
const smMock = mockClient(SecretsManagerClient);
const snsMock = mockClient(SNSClient);

const SNAPSHOT = 'crm-prod-20261127-0300';
const LEFTOVER = 'crm-prod-drill-20261101-0400';
const UNTAGGED = 'crm-prod-drill-20261102-0400';
const drillTags = [
  { Key: 'environment', Value: 'prod' },
  { Key: 'drill', Value: 'true' },
];

let ops: SynthesisedOps;
let definition: StateMachineDefinition;
let db: TestDatabase;
let drill: BundledFunction;
let status: BundledFunction;
let verify: BundledFunction;
let untrusted: BundledFunction;
let rds: FakeRds;

const deletedInstances = () =>
  rdsMock.commandCalls(DeleteDBInstanceCommand).map((c) => c.args[0].input.DBInstanceIdentifier);
const GONE = 'crm-prod-drill-20261001-0400';
const deletedLogGroups = () => logsMock.commandCalls(DeleteLogGroupCommand).map((c) => c.args[0].input.logGroupName);
const drillInstanceId = () =>
  rdsMock.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0]?.args[0].input.DBInstanceIdentifier as string;
const recorded = () =>
  drill.invocations
    .map((i) => i.event as { action: string; succeeded?: boolean })
    .filter((e) => e.action === 'record')
    .map((e) => e.succeeded);

describeTls('restore drill workflow, end to end', () => {
  beforeAll(async () => {
    ops = synthesiseOps();
    definition = definitionOf(ops, 'crm-prod-restore-drill');
    db = await createTestDatabase('crm_e2e_drill');
    await runMigrations(db.pool, { appliedBy: 'test' });
    drill = new BundledFunction(ops, functionId(ops, /^DrillDrillFunction/));
    status = new BundledFunction(ops, functionId(ops, /^RestoreStatusFunction/));
    // The test database has a generated name and the test CA signs its certificate.
    const overrides = { DB_NAME: db.name, DB_CA_BUNDLE: caFile! };
    verify = new BundledFunction(ops, functionId(ops, /^RestoreVerifyFunction/), overrides);
    // Same bundle, a CA that did not sign the server certificate (read per connection).
    untrusted = new BundledFunction(ops, verify.logicalId, {
      ...overrides,
      DB_CA_BUNDLE: process.env.TEST_TLS_OTHER_CA_FILE!,
    });
  });
  afterAll(async () => {
    await db?.drop();
    ops?.cleanup();
  });
  beforeEach(() => {
    for (const m of [rdsMock, logsMock, smMock, snsMock]) m.reset();
    drill.invocations.length = 0;
    smMock.on(GetSecretValueCommand).resolves(masterSecretValue(verify.env.DB_SECRET_ARN!, db.url));
    snsMock.on(PublishCommand).resolves({ MessageId: '9b6d2f0e-5c6a-5d8e-9a1b-3c4d5e6f7a8b' });
    logsMock.on(DeleteLogGroupCommand).resolves({});
    logsMock.on(DescribeLogGroupsCommand).resolves({ logGroups: [] });
    // Left by a drill whose instance is gone (RDS re-created the group while it was deleting), and
    // those of the leftover instance, which still exists when the sweep lists them.
    logsMock.on(DescribeLogGroupsCommand, { logGroupNamePrefix: '/aws/rds/instance/crm-prod-drill-' }).resolves({
      logGroups: [
        { logGroupName: `/aws/rds/instance/${GONE}/postgresql` },
        { logGroupName: `/aws/rds/instance/${LEFTOVER}/postgresql` },
      ],
    });
    logsMock
      .on(DeleteLogGroupCommand, { logGroupName: `/aws/rds/instance/${LEFTOVER}/upgrade` })
      .rejects(new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: {} }));
    const old = new Date('2026-11-01T04:00:00Z');
    rds = fakeRds(rdsMock, {
      instances: [
        // The live instance: Multi-AZ, deletion protection on.
        dbInstance({ DeletionProtection: true }),
        // Left by a drill that timed out last month.
        dbInstance({
          DBInstanceIdentifier: LEFTOVER,
          TagList: drillTags,
          DeletionProtection: false,
          InstanceCreateTime: old,
        }),
        // Drill-named but not tagged drill=true: someone else's, never touched.
        dbInstance({
          DBInstanceIdentifier: UNTAGGED,
          TagList: [{ Key: 'environment', Value: 'prod' }],
          DeletionProtection: false,
          InstanceCreateTime: old,
        }),
      ],
      snapshots: [dbSnapshot({ DBSnapshotIdentifier: SNAPSHOT, SnapshotCreateTime: new Date('2026-11-27T03:00:41Z') })],
      // The certificate names "localhost", as an RDS certificate names the instance endpoint.
      endpoint: { Address: 'localhost', Port: Number(new URL(db.url).port) },
    });
  });

  it('sweeps leftovers, restores single-AZ, verifies, deletes the drill instance and its log groups, succeeds', async () => {
    const run = await execute(definition, {}, { functions: [drill, status, verify] });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).toEqual([
      'SweepLeftovers',
      'PickSnapshot',
      'RestoreDrillInstance',
      'CheckStatus',
      'InstanceReady?',
      'WaitForInstance',
      'CheckStatus',
      'InstanceReady?',
      'Verify',
      'DeleteDrillInstance',
      'RecordResult',
      'Verified?',
      'DrillSucceeded',
    ]);
    const target = drillInstanceId();
    expect(target).toMatch(/^crm-prod-drill-\d{8}-\d{4}$/);
    expect(rdsMock.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0].args[0].input).toMatchObject({
      DBSnapshotIdentifier: SNAPSHOT,
      MultiAZ: false,
      DeletionProtection: false,
    });
    expect(run.output?.verification).toMatchObject({ ok: true, drill: true, targetInstanceId: target });
    expect(run.output?.record).toMatchObject({ succeeded: true });
    expect(deletedInstances()).toEqual([LEFTOVER, target]);
    expect(rds.instances.get('crm-prod')?.DBInstanceStatus).toBe('available');
    expect(rds.instances.get(UNTAGGED)?.DBInstanceStatus).toBe('available');
    // Only the groups of an instance that is gone: the leftover and the drill instance are still
    // deleting (RDS may write to their groups); a later sweep removes those.
    expect(deletedLogGroups()).toEqual([`/aws/rds/instance/${GONE}/postgresql`]);
  });

  it('cleans up and records the failure when verify errors (after its retries)', async () => {
    const run = await execute(definition, {}, { functions: [drill, status, untrusted] });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RestoreDrillFailed');
    expect(run.path.slice(-4)).toEqual(['Verify', 'DeleteDrillInstanceAfterError', 'RecordFailure', 'DrillFailed']);
    expect(run.retries.filter(([s]) => s === 'Verify')).toHaveLength(4);
    expect(deletedInstances()).toEqual([LEFTOVER, drillInstanceId()]);
    expect(recorded()).toEqual([false]);
  });

  it('records the failure when the sweep of leftovers fails', async () => {
    rdsMock.on(DeleteDBInstanceCommand).rejects(
      new InvalidDBInstanceStateFault({
        message: 'Instance crm-prod-drill is not in available state.',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    const run = await execute(definition, {}, { functions: [drill, status, untrusted] });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RestoreDrillFailed');
    // Nothing is restored while leftovers cannot be cleared.
    expect(run.path).toEqual(['SweepLeftovers', 'RecordFailure', 'DrillFailed']);
    expect(recorded()).toEqual([false]);
  });

  it('still records the failure when the clean-up itself fails', async () => {
    // Leftovers delete fine; the new drill instance refuses (e.g. still modifying).
    rdsMock.on(DeleteDBInstanceCommand).callsFake(async (input: { DBInstanceIdentifier: string }) => {
      if (input.DBInstanceIdentifier === LEFTOVER) return { DBInstance: rds.instances.get(LEFTOVER) };
      throw new InvalidDBInstanceStateFault({
        message: `Instance ${input.DBInstanceIdentifier} is not in available state.`,
        $metadata: { httpStatusCode: 400 },
      });
    });

    const run = await execute(definition, {}, { functions: [drill, status, untrusted] });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RestoreDrillFailed');
    expect(run.path.slice(-3)).toEqual(['DeleteDrillInstanceAfterError', 'RecordFailure', 'DrillFailed']);
    expect(recorded()).toEqual([false]);
    const state = run.events.find((e) => e.type === 'StateEntered' && e.state.name === 'RecordFailure');
    expect(JSON.stringify(state)).toContain('InvalidDBInstanceStateFault');
  });

  // Last: it damages the shared test database.
  it('deletes the instance and fails the drill when verification finds a damaged database', async () => {
    await db.pool.query(
      'DELETE FROM crm_meta.schema_migrations WHERE version = (SELECT max(version) FROM crm_meta.schema_migrations)',
    );

    const run = await execute(definition, {}, { functions: [drill, status, verify] });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RestoreDrillFailed');
    expect(run.path.slice(-5)).toEqual(['Verify', 'DeleteDrillInstance', 'RecordResult', 'Verified?', 'DrillFailed']);
    expect(deletedInstances()).toEqual([LEFTOVER, drillInstanceId()]);
    expect(recorded()).toEqual([false]);
    const report = snsMock.commandCalls(PublishCommand);
    expect(report).toHaveLength(1);
    expect(report[0].args[0].input.Message).toContain('FAILED');
  });
});
