import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceUpdateEvent,
} from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { PHYSICAL_RESOURCE_ID } from '../../../lambda/migrate/custom-resource';
import { MigrationError } from '../../../lambda/migrate/errors';
import { createOnEventHandler, migrationsHash } from '../../../lambda/migrate/handler';
import { loadMigrations } from '../../../lambda/migrate/migrations';
import { ConfigError, DatabaseUnavailableError } from '../../../lambda/shared/errors';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';
import { closedPort, migrationDir, tolerateForcedDrop } from './fixtures';

// The custom resource handler with a faked Secrets Manager and the real PostgreSQL 18 database.

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:CrmDatabaseSecret-AbCdEf';
const STACK_ID =
  'arn:aws:cloudformation:eu-west-1:123456789012:stack/CrmProd-Data/5b6a9f10-8a2b-11ef-9d2e-0a1b2c3d4e5f';
const migrations = loadMigrations();

const secretsManager = mockClient(SecretsManagerClient);
let db: TestDatabase;
let url: URL;

/** GetSecretValue response shaped like the real one for an RDS-managed master secret. */
function secretResponse() {
  return {
    ARN: SECRET_ARN,
    Name: 'CrmDatabaseSecret',
    VersionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
    SecretString: JSON.stringify({
      engine: 'postgres',
      host: url.hostname,
      port: Number(url.port),
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      dbname: url.pathname.slice(1),
    }),
    VersionStages: ['AWSCURRENT'],
    CreatedDate: new Date('2026-11-28T08:00:00Z'),
  };
}

function env(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    DB_SECRET_ARN: SECRET_ARN,
    DB_HOST: url.hostname,
    DB_PORT: url.port,
    DB_NAME: url.pathname.slice(1),
    MIGRATION_LOCK_TIMEOUT_MS: '5000',
    MIGRATION_STATEMENT_TIMEOUT_MS: '60000',
    ...overrides,
  };
}

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:CrmProd-Data-SchemaMigrationProvider',
  ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/response',
  StackId: STACK_ID,
  RequestId: 'b3a1c2d4-1111-2222-3333-444455556666',
  LogicalResourceId: 'SchemaMigration',
  ResourceType: 'Custom::SchemaMigration',
};

function createEvent(hash = migrationsHash(migrations)): CloudFormationCustomResourceCreateEvent {
  return {
    ...common,
    RequestType: 'Create',
    ResourceProperties: { ServiceToken: common.ServiceToken, MigrationsHash: hash },
  };
}

function updateEvent(): CloudFormationCustomResourceUpdateEvent {
  return {
    ...common,
    RequestType: 'Update',
    PhysicalResourceId: PHYSICAL_RESOURCE_ID,
    ResourceProperties: { ServiceToken: common.ServiceToken, MigrationsHash: migrationsHash(migrations) },
    OldResourceProperties: { ServiceToken: common.ServiceToken, MigrationsHash: 'previous-hash' },
  };
}

function deleteEvent(): CloudFormationCustomResourceDeleteEvent {
  return {
    ...common,
    RequestType: 'Delete',
    PhysicalResourceId: PHYSICAL_RESOURCE_ID,
    ResourceProperties: { ServiceToken: common.ServiceToken, MigrationsHash: migrationsHash(migrations) },
  };
}

function handlerFor(environment: NodeJS.ProcessEnv, extra: Partial<Parameters<typeof createOnEventHandler>[0]> = {}) {
  // The embedded test server has no TLS; production uses the default, verify-full (tested below).
  return createOnEventHandler({
    env: environment,
    secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
    tls: 'disable',
    connectAttempts: 2,
    connectRetryDelayMs: 10,
    ...extra,
  });
}

const invoke = (handler: ReturnType<typeof createOnEventHandler>, event: CloudFormationCustomResourceEvent) =>
  handler(event, { getRemainingTimeInMillis: () => 300_000 });

beforeAll(async () => {
  process.env.LOG_LEVEL = 'SILENT'; // read when each handler creates its logger
  db = await createTestDatabase('crm_migrate_handler');
  tolerateForcedDrop(db.pool);
  url = new URL(db.url);
});

afterAll(async () => {
  await db.drop();
});

beforeEach(() => {
  secretsManager.reset();
  secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves(secretResponse());
});

describe('schema migration custom resource', () => {
  it('applies every migration on Create and reports the version', async () => {
    const response = await invoke(handlerFor(env()), createEvent());

    expect(response).toEqual({
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      Data: { CurrentVersion: String(migrations.at(-1)?.version), AppliedCount: String(migrations.length) },
    });
    const { rows } = await db.pool.query('SELECT DISTINCT applied_by FROM crm_meta.schema_migrations');
    expect(rows).toEqual([{ applied_by: 'cloudformation:CrmProd-Data/SchemaMigration' }]);
  });

  it('fetches the secret per connection attempt', async () => {
    await invoke(handlerFor(env()), updateEvent());

    // Once for the user name, once more when the connection resolves its password.
    expect(secretsManager.commandCalls(GetSecretValueCommand, { SecretId: SECRET_ARN }).length).toBeGreaterThanOrEqual(
      2,
    );
  });

  it('answers Update with the same physical id and nothing applied when the database is current', async () => {
    const response = await invoke(handlerFor(env()), updateEvent());

    expect(response).toEqual({
      PhysicalResourceId: PHYSICAL_RESOURCE_ID,
      Data: { CurrentVersion: String(migrations.at(-1)?.version), AppliedCount: '0' },
    });
  });

  it('answers Delete without reading the secret or touching the database', async () => {
    const port = await closedPort();

    const response = await invoke(handlerFor(env({ DB_PORT: String(port) })), deleteEvent());

    expect(response).toEqual({ PhysicalResourceId: PHYSICAL_RESOURCE_ID });
    expect(secretsManager.calls()).toHaveLength(0);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM crm_meta.schema_migrations');
    expect(rows[0].n).toBe(migrations.length);
  });

  it('fails with the file, statement and SQL error of a failing migration', async () => {
    const broken = loadMigrations(
      migrationDir({
        '0001_ok.sql': 'CREATE TABLE ok_table (id int);\n',
        '0002_broken.sql': 'ALTER TABLE missing_table ADD COLUMN x int;\n',
      }),
    );
    const other = await createTestDatabase('crm_migrate_handler_broken');
    tolerateForcedDrop(other.pool);
    try {
      const handler = handlerFor(env({ DB_NAME: other.name }), { migrations: broken });

      const error = await invoke(handler, createEvent(migrationsHash(broken))).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(
        /^0002_broken\.sql failed at statement 1 \(line 1\): relation "missing_table" does not exist \(SQLSTATE 42P01\)\. Statement: ALTER TABLE missing_table ADD COLUMN x int\. The database stays at version 1\.$/,
      );
    } finally {
      await other.drop();
    }
  });

  it('fails with a clear message when the database is unreachable', async () => {
    const port = await closedPort();

    const run = invoke(handlerFor(env({ DB_HOST: '127.0.0.1', DB_PORT: String(port) })), createEvent());

    await expect(run).rejects.toThrow(DatabaseUnavailableError);
    await expect(
      invoke(handlerFor(env({ DB_HOST: '127.0.0.1', DB_PORT: String(port) })), createEvent()),
    ).rejects.toThrow(
      new RegExp(
        `could not connect to ${url.pathname.slice(1)} at 127\\.0\\.0\\.1:${port} after 2 attempts: .*ECONNREFUSED`,
      ),
    );
  });

  it('fails with a clear message when the secret cannot be read', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: secretsmanager:GetSecretValue'), {
        name: 'AccessDeniedException',
      }),
    );

    await expect(invoke(handlerFor(env()), createEvent())).rejects.toThrow(
      /could not read the database secret arn:aws:secretsmanager:.*not authorized/,
    );
  });

  it('requires DB_SECRET_ARN and names it', async () => {
    await expect(invoke(handlerFor(env({ DB_SECRET_ARN: '' })), createEvent())).rejects.toThrow(ConfigError);
    await expect(invoke(handlerFor(env({ DB_SECRET_ARN: '' })), createEvent())).rejects.toThrow(
      /config\.DB_SECRET_ARN/,
    );
  });

  it('rejects a malformed timeout and names the variable', async () => {
    await expect(invoke(handlerFor(env({ MIGRATION_LOCK_TIMEOUT_MS: '5s' })), createEvent())).rejects.toThrow(
      /config\.MIGRATION_LOCK_TIMEOUT_MS: must be a positive integer \(got '5s'\)/,
    );
  });

  it('connects with TLS by default and verifies the server against the CA bundle', async () => {
    const handler = handlerFor(env(), { tls: undefined, connectAttempts: 1 });
    const previous = process.env.DB_CA_BUNDLE;
    // An empty bundle trusts no one: the test server's certificate (from its throw-away CA) is
    // refused — or, on a server without TLS, TLS itself is.
    process.env.DB_CA_BUNDLE = join(migrationDir({ 'ca.pem': '' }), 'ca.pem');
    try {
      await expect(invoke(handler, updateEvent())).rejects.toThrow(
        /does not support SSL|unable to verify the first certificate|self[- ]signed/,
      );
    } finally {
      if (previous === undefined) delete process.env.DB_CA_BUNDLE;
      else process.env.DB_CA_BUNDLE = previous;
    }
  });
});

describe('migrationsHash', () => {
  it('is stable and independent of input order', () => {
    expect(migrationsHash([...migrations].reverse())).toBe(migrationsHash(migrations));
    expect(migrationsHash(migrations)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes when a migration changes', () => {
    const changed = migrations.map((m, i) => (i === 0 ? { ...m, checksum: '0'.repeat(64) } : m));

    expect(migrationsHash(changed)).not.toBe(migrationsHash(migrations));
  });
});
