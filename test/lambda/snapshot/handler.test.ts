import {
  CreateDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  InvalidDBInstanceStateFault,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ValidationError } from '../../../lambda/shared/errors';
import type { SnapshotResult } from '../../../lambda/snapshot/snapshot';

const rdsMock = mockClient(RDSClient);

const ENV = {
  DB_INSTANCE_ID: 'crm-prod',
  SNAPSHOT_PREFIX: 'crm-prod',
  ENVIRONMENT: 'prod',
  SCHEDULE_NAME: 'crm-prod-daily',
  METRICS_NAMESPACE: 'CRM/Ops',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_REGION: 'eu-west-1',
  LOG_LEVEL: 'SILENT',
};

/** The module under test, loaded once with ENV (it parses the environment at cold start). */
type HandlerModule = {
  handler: (event: unknown, context?: { getRemainingTimeInMillis(): number }) => Promise<SnapshotResult>;
};
const HANDLER = '../../../lambda/snapshot/handler';

async function coldStart(): Promise<HandlerModule> {
  Object.assign(process.env, ENV);
  return require(HANDLER);
}

/** A fresh module registry, for cold-start failures only (its classes differ from the mocked ones). */
function loadIsolated(env: Record<string, string | undefined> = {}): HandlerModule {
  Object.assign(process.env, ENV, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  let mod: HandlerModule | undefined;
  jest.isolateModules(() => {
    mod = require(HANDLER);
  });
  return mod!;
}

beforeEach(() => {
  rdsMock.reset();
  rdsMock.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
  rdsMock.on(CreateDBSnapshotCommand).resolves({});
});

describe('snapshot handler', () => {
  it('names the snapshot from the scheduler input', async () => {
    const { handler } = await coldStart();
    const result = await handler({ scheduledTime: '2026-11-28T03:00:00Z' });
    expect(result.snapshotId).toBe('crm-prod-20261128-0300');
    expect(rdsMock).toHaveReceivedCommandWith(CreateDBSnapshotCommand, {
      DBSnapshotIdentifier: 'crm-prod-20261128-0300',
    });
  });

  it("bounds the wait for a busy instance by the invocation's time left, then fails with SnapshotDeferredError", async () => {
    const { handler } = await coldStart();
    rdsMock.on(CreateDBSnapshotCommand).rejects(
      new InvalidDBInstanceStateFault({
        message:
          'Cannot create a snapshot because the database instance crm-prod is not currently in the available state.',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    // 60 s left is all margin: no time to wait, so the run is deferred to Lambda's retry at once.
    const err = await handler(
      { scheduledTime: '2026-11-28T03:00:00Z' },
      { getRemainingTimeInMillis: () => 60_000 },
    ).catch((e: unknown) => e);

    expect((err as Error).name).toBe('SnapshotDeferredError');
    expect(rdsMock).toHaveReceivedCommandTimes(CreateDBSnapshotCommand, 1);
  });

  it('rejects a malformed scheduledTime with a ValidationError naming the field and takes no snapshot', async () => {
    const { handler } = await coldStart();
    const err = await handler({ scheduledTime: 'yesterday' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('scheduledTime');
    expect(rdsMock).not.toHaveReceivedCommand(CreateDBSnapshotCommand);
  });

  it('fails at cold start with a ConfigError naming a bad variable', async () => {
    expect(() => loadIsolated({ RETENTION_DAYS: 'seven' })).toThrow(/config\.RETENTION_DAYS: must be an integer >= 1/);
    expect(() => loadIsolated({ SNAPSHOT_PREFIX: 'crm_prod' })).toThrow(/config\.SNAPSHOT_PREFIX/);
    expect(() => loadIsolated({ DB_INSTANCE_ID: undefined })).toThrow(/config\.DB_INSTANCE_ID/);
    expect(() => loadIsolated({ RETENTION_DAYS: '7', SNAPSHOT_MAX_WAIT_SECONDS: 'ten' })).toThrow(
      /config\.SNAPSHOT_MAX_WAIT_SECONDS/,
    );
  });
});
