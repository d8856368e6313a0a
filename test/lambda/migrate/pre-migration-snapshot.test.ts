import {
  CreateDBSnapshotCommand,
  DBSnapshotNotFoundFault,
  DescribeDBSnapshotsCommand,
  InvalidDBInstanceStateFault,
  RDSClient,
  SnapshotQuotaExceededFault,
} from '@aws-sdk/client-rds';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceCreateEvent, CloudFormationCustomResourceUpdateEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { PHYSICAL_RESOURCE_ID } from '../../../lambda/migrate/custom-resource';
import { MigrationLintError } from '../../../lambda/migrate/errors';
import { configFromEnv, createHandlers } from '../../../lambda/migrate/handler';
import { loadMigrations, migrationsHash } from '../../../lambda/migrate/migrations';
import { preMigrationSnapshotId } from '../../../lambda/migrate/pre-migration-snapshot';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';
import { migrationDir, tolerateForcedDrop } from './fixtures';

// The pre-migration snapshot path of the migration custom resource: RDS faked with responses
// shaped like the real API, the database a real PostgreSQL 18.

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:CrmDatabaseSecret-AbCdEf';
const NOW = new Date('2026-11-28T08:30:00Z');
const migrations = loadMigrations();
const latest = migrations.at(-1)!.version;

const sm = mockClient(SecretsManagerClient);
const rds = mockClient(RDSClient);
let db: TestDatabase;
let url: URL;

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:crm-prod-Data-SchemaProvider',
  ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/crm-prod-Data/5b6a9f10-8a2b-11ef-9d2e-0a1b2c3d4e5f',
  RequestId: 'b3a1c2d4-1111-2222-3333-444455556666',
  LogicalResourceId: 'SchemaResource',
  ResourceType: 'Custom::SchemaMigration',
};
const createEvent = (): CloudFormationCustomResourceCreateEvent => ({
  ...common,
  RequestType: 'Create',
  ResourceProperties: { ServiceToken: common.ServiceToken, MigrationsHash: migrationsHash(migrations) },
});
const updateEvent = (): CloudFormationCustomResourceUpdateEvent => ({
  ...common,
  RequestType: 'Update',
  PhysicalResourceId: PHYSICAL_RESOURCE_ID,
  ResourceProperties: { ServiceToken: common.ServiceToken, MigrationsHash: migrationsHash(migrations) },
  OldResourceProperties: { ServiceToken: common.ServiceToken, MigrationsHash: 'previous' },
});

function env(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    DB_SECRET_ARN: SECRET_ARN,
    DB_HOST: url.hostname,
    DB_PORT: url.port,
    DB_NAME: url.pathname.slice(1),
    SNAPSHOT_BEFORE_MIGRATION: 'true',
    DB_INSTANCE_ID: 'crm-prod',
    SNAPSHOT_PREFIX: 'crm-prod',
    ENVIRONMENT: 'prod',
    ...overrides,
  };
}

const handlers = (environment = env()) =>
  createHandlers({
    env: environment,
    secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
    rds: new RDSClient({ region: 'eu-west-1' }),
    now: () => NOW,
    // The embedded test server has no TLS; production uses verify-full.
    tls: 'disable',
    connectAttempts: 1,
  });
const ctx = { getRemainingTimeInMillis: () => 600_000 };

/** DescribeDBSnapshots response shaped like the real one. */
function snapshotWithStatus(id: string, status: string) {
  return {
    DBSnapshots: [
      {
        DBSnapshotIdentifier: id,
        DBInstanceIdentifier: 'crm-prod',
        SnapshotCreateTime: NOW,
        Engine: 'postgres',
        Status: status,
        SnapshotType: 'manual',
        Encrypted: true,
        DBSnapshotArn: `arn:aws:rds:eu-west-1:123456789012:snapshot:${id}`,
        TagList: [{ Key: 'managed-by', Value: 'crm-platform' }],
      },
    ],
  };
}

async function schemaVersion(): Promise<number | null> {
  const exists = await db.pool.query("SELECT to_regclass('crm_meta.schema_migrations') AS t");
  if (!exists.rows[0].t) return null;
  const { rows } = await db.pool.query('SELECT max(version) AS v FROM crm_meta.schema_migrations');
  return rows[0].v;
}

beforeAll(async () => {
  process.env.LOG_LEVEL = 'SILENT';
  db = await createTestDatabase('crm_premigration');
  tolerateForcedDrop(db.pool);
  url = new URL(db.url);
});
afterAll(() => db.drop());
beforeEach(() => {
  sm.reset();
  rds.reset();
  sm.on(GetSecretValueCommand).resolves({
    ARN: SECRET_ARN,
    Name: 'CrmDatabaseSecret',
    SecretString: JSON.stringify({
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      engine: 'postgres',
    }),
  });
});

describe('lint at deploy time', () => {
  it('refuses a pending migration that breaks a lint rule before taking a snapshot or applying anything', async () => {
    const bad = loadMigrations(
      migrationDir({
        '0001_widgets.sql': 'CREATE TABLE widgets (id int, name text);\n',
        '0002_rename.sql': 'ALTER TABLE widgets RENAME COLUMN name TO title;\n',
      }),
    );
    const other = await createTestDatabase('crm_premigration_lint');
    tolerateForcedDrop(other.pool);
    try {
      const { onEvent } = createHandlers({
        env: env({ DB_NAME: other.name }),
        secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
        rds: new RDSClient({ region: 'eu-west-1' }),
        now: () => NOW,
        tls: 'disable',
        connectAttempts: 1,
        migrations: bad,
      });

      const error = await onEvent(
        {
          ...createEvent(),
          ResourceProperties: { ServiceToken: common.ServiceToken, MigrationsHash: migrationsHash(bad) },
        },
        ctx,
      ).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MigrationLintError);
      expect((error as Error).message).toMatch(/0002_rename\.sql:1 \[rename\]/);
      expect(rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
      const { rows } = await other.pool.query(
        "SELECT to_regclass('crm_meta.schema_migrations') AS h, to_regclass('widgets') AS w",
      );
      expect(rows).toEqual([{ h: null, w: null }]);
    } finally {
      await other.drop();
    }
  });
});

describe('pre-migration snapshot', () => {
  const expectedId = preMigrationSnapshotId('crm-prod', 0, latest, NOW);

  it('starts a tagged snapshot on Create and applies nothing yet', async () => {
    rds.on(CreateDBSnapshotCommand).resolves({ DBSnapshot: { DBSnapshotIdentifier: expectedId, Status: 'creating' } });

    const response = await handlers().onEvent(createEvent(), ctx);

    expect(response).toEqual({
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      Data: { CurrentVersion: '0', AppliedCount: '0', SnapshotId: expectedId },
    });
    expect(expectedId).toBe(`crm-prod-premigration-v0-v${latest}-20261128-0830`);
    const input = rds.commandCalls(CreateDBSnapshotCommand)[0].args[0].input;
    expect(input.DBInstanceIdentifier).toBe('crm-prod');
    expect(input.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'managed-by', Value: 'crm-platform' },
        { Key: 'schedule', Value: 'pre-migration' },
        { Key: 'migration-from', Value: '0' },
        { Key: 'migration-to', Value: String(latest) },
      ]),
    );
    expect(await schemaVersion()).toBeNull();
  });

  it('is not complete while the snapshot is being created, and still applies nothing', async () => {
    rds.on(DescribeDBSnapshotsCommand).resolves(snapshotWithStatus(expectedId, 'creating'));
    const done = await handlers().isComplete(
      { ...createEvent(), Data: { CurrentVersion: '0', AppliedCount: '0', SnapshotId: expectedId } },
      ctx,
    );
    expect(done).toEqual({ IsComplete: false });
    expect(await schemaVersion()).toBeNull();
  });

  it('fails without migrating when the snapshot fails', async () => {
    rds.on(DescribeDBSnapshotsCommand).resolves(snapshotWithStatus(expectedId, 'failed'));
    await expect(
      handlers().isComplete(
        { ...createEvent(), Data: { CurrentVersion: '0', AppliedCount: '0', SnapshotId: expectedId } },
        ctx,
      ),
    ).rejects.toThrow(`pre-migration snapshot ${expectedId} is failed; no migration was applied`);
    expect(await schemaVersion()).toBeNull();
  });

  it('migrates once the snapshot is available', async () => {
    rds.on(DescribeDBSnapshotsCommand).resolves(snapshotWithStatus(expectedId, 'available'));
    const done = await handlers().isComplete(
      { ...createEvent(), Data: { CurrentVersion: '0', AppliedCount: '0', SnapshotId: expectedId } },
      ctx,
    );
    expect(done).toEqual({
      IsComplete: true,
      Data: { CurrentVersion: String(latest), AppliedCount: String(migrations.length), SnapshotId: expectedId },
    });
    expect(await schemaVersion()).toBe(latest);
  });

  it('takes no snapshot when nothing is pending', async () => {
    const response = await handlers().onEvent(updateEvent(), ctx);
    expect(response.Data).toEqual({ CurrentVersion: String(latest), AppliedCount: '0' });
    expect(rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
    expect(await handlers().isComplete({ ...updateEvent(), Data: response.Data }, ctx)).toEqual({ IsComplete: true });
  });

  it('reports a snapshot that cannot be started, naming it', async () => {
    await db.pool.query('DELETE FROM crm_meta.schema_migrations WHERE version = $1', [latest]);
    try {
      rds.on(CreateDBSnapshotCommand).rejects(
        new SnapshotQuotaExceededFault({
          message: 'Cannot create more than 100 manual snapshots',
          $metadata: { httpStatusCode: 400 },
        }),
      );
      await expect(handlers().onEvent(updateEvent(), ctx)).rejects.toThrow(
        /could not start the pre-migration snapshot crm-prod-premigration-v\d+-v\d+-20261128-0830 of crm-prod: Cannot create more than 100 manual snapshots; no migration was applied/,
      );
    } finally {
      // put the history back as it was (the schema objects of that migration are still there)
      const m = migrations.at(-1)!;
      await db.pool.query(
        "INSERT INTO crm_meta.schema_migrations (version, name, checksum, applied_at, duration_ms, applied_by) VALUES ($1, $2, $3, now(), 0, 'test')",
        [m.version, m.name, m.checksum],
      );
    }
  });

  describe('while the instance is backing up or being modified (CreateDBSnapshot: InvalidDBInstanceState)', () => {
    const busy = () =>
      new InvalidDBInstanceStateFault({
        message:
          'Cannot create a snapshot because the database instance crm-prod is not currently in the available state.',
        $metadata: { httpStatusCode: 400 },
      });
    const deferredData = () => ({
      CurrentVersion: '0',
      AppliedCount: '0',
      SnapshotId: expectedId,
      SnapshotDeferred: 'true',
      SnapshotFromVersion: '0',
      SnapshotToVersion: String(latest),
    });
    // A database of its own, at schema version 0: the tests above migrated theirs.
    let fresh: TestDatabase;
    beforeAll(async () => {
      fresh = await createTestDatabase('crm_premigration_busy');
      tolerateForcedDrop(fresh.pool);
    });
    afterAll(() => fresh.drop());
    const busyHandlers = () => handlers(env({ DB_NAME: fresh.name }));
    const freshVersion = async () =>
      (await fresh.pool.query("SELECT to_regclass('crm_meta.schema_migrations') AS t")).rows[0].t;

    const notFound = () =>
      new DBSnapshotNotFoundFault({
        message: `DBSnapshot ${expectedId} not found.`,
        $metadata: { httpStatusCode: 404 },
      });

    it('onEvent does not fail: it defers the snapshot to isComplete and applies nothing', async () => {
      rds.on(CreateDBSnapshotCommand).rejects(busy());

      const response = await busyHandlers().onEvent(createEvent(), ctx);

      expect(response).toEqual({ PhysicalResourceId: PHYSICAL_RESOURCE_ID, Data: deferredData() });
      expect(await freshVersion()).toBeNull();
    });

    it('isComplete keeps waiting, applying nothing, while the instance still refuses the snapshot', async () => {
      rds.on(DescribeDBSnapshotsCommand).rejects(notFound());
      rds.on(CreateDBSnapshotCommand).rejects(busy());

      const done = await busyHandlers().isComplete({ ...createEvent(), Data: deferredData() }, ctx);

      expect(done).toEqual({ IsComplete: false });
      expect(rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(1);
      expect(await freshVersion()).toBeNull();
    });

    it('isComplete creates the snapshot under the planned name and tags once the instance accepts it', async () => {
      rds.on(DescribeDBSnapshotsCommand).rejects(notFound());
      rds
        .on(CreateDBSnapshotCommand)
        .resolves({ DBSnapshot: { DBSnapshotIdentifier: expectedId, Status: 'creating' } });

      const done = await busyHandlers().isComplete({ ...createEvent(), Data: deferredData() }, ctx);

      expect(done).toEqual({ IsComplete: false });
      const input = rds.commandCalls(CreateDBSnapshotCommand)[0]!.args[0].input;
      expect(input).toMatchObject({ DBInstanceIdentifier: 'crm-prod', DBSnapshotIdentifier: expectedId });
      expect(input.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'managed-by', Value: 'crm-platform' },
          { Key: 'migration-from', Value: '0' },
          { Key: 'migration-to', Value: String(latest) },
        ]),
      );
      expect(await freshVersion()).toBeNull();
    });

    it('a snapshot that is missing although it was not deferred still fails the deployment', async () => {
      rds.on(DescribeDBSnapshotsCommand).rejects(notFound());
      await expect(
        busyHandlers().isComplete(
          { ...createEvent(), Data: { CurrentVersion: '0', AppliedCount: '0', SnapshotId: expectedId } },
          ctx,
        ),
      ).rejects.toThrow(`pre-migration snapshot ${expectedId} does not exist; no migration was applied`);
      expect(rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
    });
  });

  it.each([
    [{ SNAPSHOT_BEFORE_MIGRATION: 'yes' }, /SNAPSHOT_BEFORE_MIGRATION: must be 'true' or 'false'/],
    [{ DB_INSTANCE_ID: '' }, /DB_INSTANCE_ID: is required when SNAPSHOT_BEFORE_MIGRATION is true/],
    [{ SNAPSHOT_PREFIX: '' }, /SNAPSHOT_PREFIX: is required/],
  ])('refuses bad configuration %o', (overrides, message) => {
    expect(() => configFromEnv(env(overrides))).toThrow(message);
  });
});
