import { Pool } from 'pg';
import { loadMigrations, type Migration, parseMigration } from '../../../lambda/migrate/migrations';
import { runMigrations } from '../../../lambda/migrate/runner';
import { checkDatabase } from '../../../lambda/restore-verify/checks';
import { parseVerifyInput, type VerifyDeps, verifyRestore } from '../../../lambda/restore-verify/verify';
import { DatabaseUnavailableError, ValidationError } from '../../../lambda/shared/errors';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';
import { MetricRecorder, silentLogger } from '../snapshot/fixtures';

let db: TestDatabase;
let migrations: Migration[];

beforeAll(async () => {
  db = await createTestDatabase('crm_verify');
  migrations = loadMigrations();
  await runMigrations(db.pool, { migrations });
});
afterAll(async () => {
  await db.drop();
});

/** Runs `fn` with a client of the migrated database; nothing it writes survives (rolled back). */
async function inRolledBackTransaction<T>(fn: (client: import('pg').PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    return await fn(client);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

const lastMigration = () => migrations.at(-1)!;

describe('checkDatabase against PostgreSQL 18 with the real migrations applied', () => {
  it('passes when the history matches the bundled migrations, with row counts per CRM table', async () => {
    const report = await inRolledBackTransaction((c) => checkDatabase(c, migrations));

    expect(report.schema).toMatchObject({
      ok: true,
      bundledVersion: lastMigration().version,
      appliedVersion: lastMigration().version,
    });
    expect(report.ok).toBe(true);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.tables).toEqual(
      expect.arrayContaining([
        { table: 'crm.pipelines', rows: 1 },
        { table: 'crm.pipeline_stages', rows: 6 },
        { table: 'crm.deals', rows: 0 },
      ]),
    );
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'foreign key deals_stage_in_pipeline holds',
        'deals reference an existing stage of their pipeline',
        'no orphan contacts',
      ]),
    );
  });

  it('fails naming a bundled migration the restored database is missing', async () => {
    const future = parseMigration(
      `${String(lastMigration().version + 1).padStart(4, '0')}_future_change.sql`,
      'SELECT 1;\n',
    );
    const report = await inRolledBackTransaction((c) => checkDatabase(c, [...migrations, future]));

    expect(report.ok).toBe(false);
    expect(report.schema.detail).toMatch(new RegExp(`missing ${future.file}: not applied in the restored database`));
  });

  it('fails naming a migration whose applied checksum differs from the bundled file', async () => {
    const original = migrations.find((m) => m.version === 2)!;
    const altered = parseMigration(original.file, `${original.sql}\n-- edited after release\n`);
    const report = await inRolledBackTransaction((c) =>
      checkDatabase(
        c,
        migrations.map((m) => (m.version === 2 ? altered : m)),
      ),
    );

    expect(report.ok).toBe(false);
    expect(report.schema.detail).toMatch(new RegExp(`^${original.file}: changed after it was applied`));
  });

  it('fails naming an applied migration this version does not bundle', async () => {
    const report = await inRolledBackTransaction((c) => checkDatabase(c, migrations.slice(0, -1)));

    expect(report.ok).toBe(false);
    expect(report.schema.detail).toMatch(
      new RegExp(`^${lastMigration().file}: was applied to this database but its file is missing`),
    );
  });

  it('fails the sanity checks when a deal points at a stage that does not exist', async () => {
    const report = await inRolledBackTransaction(async (c) => {
      // Foreign key triggers off for this transaction only, to fabricate the damage a bad restore could show.
      await c.query('SET LOCAL session_replication_role = replica');
      const { rows } = await c.query<{ id: string }>(
        "INSERT INTO crm.users (cognito_sub, email, display_name) VALUES ('sub-1', 'owner@example.com', 'Owner') RETURNING id",
      );
      await c.query(
        `INSERT INTO crm.deals (name, pipeline_id, stage_id, owner_id)
         SELECT 'Broken deal', p.id, gen_random_uuid(), $1 FROM crm.pipelines p WHERE p.is_default`,
        [rows[0]!.id],
      );
      await c.query('SET LOCAL session_replication_role = origin');
      return checkDatabase(c, migrations);
    });

    expect(report.ok).toBe(false);
    const failed = report.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'foreign key deals_stage_in_pipeline holds',
        'deals reference an existing stage of their pipeline',
      ]),
    );
    expect(failed.find((c) => c.name.startsWith('deals reference'))!.detail).toBe('1 deals without their stage');
  });
});

describe('verifyRestore', () => {
  const input = parseVerifyInput({
    targetInstanceId: 'crm-prod-restore-20261128-1100',
    sourceInstanceId: 'crm-prod',
    restoredFrom: 'crm-prod-20261127-0300',
    restoreStartedAt: '2026-11-28T11:00:00Z',
    requestedBy: 'alice@example.com',
    drill: false,
    status: {
      status: 'available',
      endpoint: { address: 'crm-prod-restore.c9akciq32.eu-west-1.rds.amazonaws.com', port: 5432 },
    },
  });

  function deps(over: Partial<VerifyDeps> = {}) {
    const published: { subject: string; message: string }[] = [];
    const metrics = new MetricRecorder();
    const d: VerifyDeps = {
      // The endpoint from the input is the restored instance's; tests point at the test database instead.
      pool: async () => new Pool({ connectionString: db.url, max: 1 }),
      migrations,
      publish: async (subject, message) => published.push({ subject, message }),
      metrics,
      logger: silentLogger(),
      now: () => new Date('2026-11-28T11:23:20Z'),
      connectAttempts: 1,
      ...over,
    };
    return { d, published, metrics };
  }

  it('publishes a passing report to SNS and the measured restore duration to metrics', async () => {
    const { d, published, metrics } = deps();
    const report = await verifyRestore(input, d);

    expect(report).toMatchObject({
      ok: true,
      restoreDurationSeconds: 1400,
      failures: [],
      endpoint: 'crm-prod-restore.c9akciq32.eu-west-1.rds.amazonaws.com:5432',
    });
    expect(published).toHaveLength(1);
    expect(published[0]!.subject).toBe('CRM restore verified: crm-prod-restore-20261128-1100');
    expect(published[0]!.message).toMatch(
      /^PASSED: crm-prod-restore-20261128-1100 restored from crm-prod-20261127-0300/,
    );
    expect(metrics.value('RestoreVerified')).toBe(1);
    expect(metrics.value('RestoreDurationSeconds')).toBe(1400);
  });

  it('publishes a failing report naming the migration, and no duration', async () => {
    const future = parseMigration(
      `${String(lastMigration().version + 1).padStart(4, '0')}_future_change.sql`,
      'SELECT 1;\n',
    );
    const { d, published, metrics } = deps({ migrations: [...migrations, future] });
    const report = await verifyRestore(input, d);

    expect(report.ok).toBe(false);
    expect(report.failures).toEqual([expect.stringContaining(`missing ${future.file}`)]);
    expect(published[0]!.subject).toBe('CRM restore FAILED verification: crm-prod-restore-20261128-1100');
    expect(metrics.value('RestoreVerificationFailed')).toBe(1);
    expect(metrics.value('RestoreDurationSeconds')).toBeUndefined();
  });

  it('throws DatabaseUnavailableError naming the instance when it cannot connect, publishing nothing', async () => {
    const { d, published } = deps({
      pool: async () =>
        new Pool({
          host: '127.0.0.1',
          port: 1,
          user: 'x',
          password: 'x',
          database: 'x',
          connectionTimeoutMillis: 1_000,
        }),
    });
    const err = await verifyRestore(input, d).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(
      /could not connect to crm-prod-restore-20261128-1100 \(crm-prod-restore\.c9akciq32/,
    );
    expect(published).toEqual([]);
  });

  it('requires the endpoint from the status step', () => {
    expect(() => parseVerifyInput({ targetInstanceId: 'x', restoreStartedAt: '2026-11-28T11:00:00Z' })).toThrow(
      ValidationError,
    );
    expect(() =>
      parseVerifyInput({ targetInstanceId: 'x', restoreStartedAt: 'noon', endpoint: { address: 'h', port: 5432 } }),
    ).toThrow(/restoreStartedAt/);
  });
});
