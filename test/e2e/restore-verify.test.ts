/**
 * The restore verification workflow as deployed: the synthesised `crm-prod-restore-verify` definition,
 * run by a real ASL interpreter, its tasks invoking the synthesised, minified status and verify
 * bundles; RDS, Secrets Manager and SNS faked, PostgreSQL 18 real (over verified TLS).
 */
import { type DBInstance, RDSClient } from '@aws-sdk/client-rds';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { runMigrations } from '../../lambda/migrate/runner';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { dbInstance } from '../lambda/snapshot/fixtures';
import { type FakeRds, fakeRds, freePort, functionId, Gateway, masterSecretValue } from './fixtures';
import { BundledFunction, definitionOf, execute, type SynthesisedOps, synthesiseOps } from './harness';

const caFile = process.env.TEST_TLS_CA_FILE;
// Skipped only when the openssl CLI was missing at globalSetup (it ships with this project's machines).
const describeTls = caFile ? describe : describe.skip;

const rdsMock = mockClient(RDSClient);
const smMock = mockClient(SecretsManagerClient);
const snsMock = mockClient(SNSClient);
const TARGET = 'crm-prod-restore-20261128-1100';

let ops: SynthesisedOps;
let definition: StateMachineDefinition;
let db: TestDatabase;
let pgPort: number;
let status: BundledFunction;
let verify: BundledFunction;
let rds: FakeRds;

/** What the restore function starts the workflow with (its VerificationInput). */
const input = () => ({
  targetInstanceId: TARGET,
  sourceInstanceId: 'crm-prod',
  restoredFrom: 'arn:aws:rds:eu-west-1:123456789012:snapshot:crm-prod-20261127-0300',
  restoreStartedAt: new Date(Date.now() - 20 * 60_000).toISOString(),
  requestedBy: 'alice',
  drill: false,
});

const restoring = (): DBInstance =>
  dbInstance({ DBInstanceIdentifier: TARGET, DBInstanceStatus: 'creating', Endpoint: undefined });

describeTls('restore verification workflow, end to end', () => {
  beforeAll(async () => {
    ops = synthesiseOps();
    definition = definitionOf(ops, 'crm-prod-restore-verify');
    db = await createTestDatabase('crm_e2e_verify');
    pgPort = Number(new URL(db.url).port);
    await runMigrations(db.pool, { appliedBy: 'test' });
    status = new BundledFunction(ops, functionId(ops, /^RestoreStatusFunction/));
    // The test database has a generated name and the test CA signs its certificate; everything
    // else is the template's environment.
    verify = new BundledFunction(ops, functionId(ops, /^RestoreVerifyFunction/), {
      DB_NAME: db.name,
      DB_CA_BUNDLE: caFile!,
    });
  });
  afterAll(async () => {
    await db?.drop();
    ops?.cleanup();
  });
  beforeEach(() => {
    rdsMock.reset();
    smMock.reset();
    snsMock.reset();
    // The restored instance keeps the master credentials of the snapshot.
    smMock.on(GetSecretValueCommand).resolves(masterSecretValue(verify.env.DB_SECRET_ARN!, db.url));
    snsMock.on(PublishCommand).resolves({ MessageId: '9b6d2f0e-5c6a-5d8e-9a1b-3c4d5e6f7a8b' });
    // The certificate names "localhost", as an RDS certificate names the instance endpoint.
    rds = fakeRds(rdsMock, {
      instances: [dbInstance(), restoring()],
      snapshots: [],
      endpoint: { Address: 'localhost', Port: pgPort },
    });
  });

  it('waits for the instance, verifies it over TLS and succeeds', async () => {
    const run = await execute(definition, input(), { functions: [status, verify] });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.path).toEqual([
      'CheckStatus',
      'InstanceReady?',
      'WaitForInstance',
      'CheckStatus',
      'InstanceReady?',
      'Verify',
      'Verified?',
      'Verified',
    ]);
    expect(run.output?.verification).toMatchObject({ ok: true, targetInstanceId: TARGET, failures: [] });
    expect(run.published).toEqual([]);
    const report = snsMock.commandCalls(PublishCommand);
    expect(report).toHaveLength(1);
    expect(report[0].args[0].input).toMatchObject({
      TopicArn: verify.env.VERIFY_TOPIC_ARN,
      Subject: expect.stringContaining('verified'),
    });
  });

  it('retries a database that refuses connections at first, then verifies it', async () => {
    const gateway = new Gateway(await freePort(), { host: '127.0.0.1', port: pgPort });
    rds.endpoint = { Address: 'localhost', Port: gateway.port };
    try {
      const run = await execute(definition, input(), {
        functions: [status, verify],
        // The instance answers only after the first verify attempt failed.
        afterTask: async (state, failed) => {
          if (state === 'Verify' && failed) await gateway.open();
        },
      });

      expect(run.retries).toEqual([['Verify', 'DatabaseUnavailableError']]);
      expect(run.status).toBe('SUCCEEDED');
      expect(run.output?.verification).toMatchObject({ ok: true, endpoint: `localhost:${gateway.port}` });
      expect(verify.invocations.slice(-2).map((i) => i.errorType)).toEqual(['DatabaseUnavailableError', undefined]);
    } finally {
      await gateway.close();
    }
  });

  it('notifies the failure when the instance cannot be verified at all (certificate not trusted)', async () => {
    const untrusted = new BundledFunction(ops, verify.logicalId, {
      ...verify.env,
      // Read per connection (lambda/shared/db.ts), so this copy of the same bundle sees it.
      DB_CA_BUNDLE: process.env.TEST_TLS_OTHER_CA_FILE!,
    });

    const run = await execute(definition, input(), { functions: [status, untrusted] });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RestoreVerificationFailed');
    expect(run.path.slice(-3)).toEqual(['Verify', 'NotifyFailure', 'VerificationFailed']);
    // A certificate failure is permanent within one attempt, but the workflow still retries it.
    expect(run.retries.map(([s, e]) => `${s}:${e}`)).toEqual(Array(4).fill('Verify:DatabaseUnavailableError'));
    expect(run.published).toHaveLength(1);
    expect(run.published[0].TopicArn).toBe(verify.env.VERIFY_TOPIC_ARN);
    const state = JSON.parse(run.published[0].Message) as {
      targetInstanceId: string;
      error: { Error: string; Cause: string };
    };
    expect(state.targetInstanceId).toBe(TARGET);
    expect(state.error.Error).toBe('DatabaseUnavailableError');
    expect(state.error.Cause).toMatch(/certificate/i);
  });

  // Last: it damages the shared test database.
  it('fails a damaged database: the report names the missing migration and the execution fails', async () => {
    const { rows } = await db.pool.query<{ version: number; name: string }>(
      'DELETE FROM crm_meta.schema_migrations WHERE version = (SELECT max(version) FROM crm_meta.schema_migrations) RETURNING version, name',
    );

    const run = await execute(definition, input(), { functions: [status, verify] });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RestoreVerificationFailed');
    expect(run.path.slice(-3)).toEqual(['Verify', 'Verified?', 'VerificationFailed']);
    expect(run.output).toBeUndefined();
    // Verify publishes the failed report itself (the text operators act on) before the Choice fails.
    const report = snsMock.commandCalls(PublishCommand);
    expect(report).toHaveLength(1);
    expect(report[0].args[0].input.Subject).toContain('FAILED verification');
    expect(report[0].args[0].input.Message).toContain(rows[0].name);
  });
});
