import { randomBytes } from 'node:crypto';
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

describe('verifyRestore after a master secret rotation (real PostgreSQL, password authentication)', () => {
  const role = `crm_master_${randomBytes(4).toString('hex')}`;
  const backupTimePassword = `before-rotation-${randomBytes(6).toString('hex')}`;
  const input = parseVerifyInput({
    targetInstanceId: 'crm-prod-restore-20261128-1100',
    restoreStartedAt: '2026-11-28T11:00:00Z',
    endpoint: { address: 'crm-prod-restore.c9akciq32.eu-west-1.rds.amazonaws.com', port: 5432 },
  });
  /** A pool logging in as the role with the password each secret version holds (undefined: no such version). */
  const poolWith =
    (passwords: Partial<Record<'AWSCURRENT' | 'AWSPREVIOUS', string>>, asked: string[] = []): VerifyDeps['pool'] =>
    async (_endpoint, stage) => {
      asked.push(stage);
      const password = passwords[stage];
      if (password === undefined) throw new DatabaseUnavailableError(`no ${stage} version of the secret`);
      const url = new URL(db.url);
      url.username = role;
      url.password = password;
      return new Pool({ connectionString: url.toString(), max: 1 });
    };
  const depsWith = (pool: VerifyDeps['pool']): VerifyDeps => ({
    pool,
    migrations,
    publish: async () => undefined,
    metrics: new MetricRecorder(),
    logger: silentLogger(),
    now: () => new Date('2026-11-28T11:23:20Z'),
    connectAttempts: 1,
  });

  beforeAll(async () => {
    // Generated from [a-z0-9_-] only, so quoting is safe. The restored instance has the backup-time password.
    await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${backupTimePassword}' IN ROLE pg_read_all_data`);
  });
  afterAll(async () => {
    await db.pool.query(`DROP ROLE IF EXISTS ${role}`);
  });

  it('falls back to AWSPREVIOUS on 28P01 and reports that credential', async () => {
    const asked: string[] = [];
    const report = await verifyRestore(
      input,
      depsWith(poolWith({ AWSCURRENT: 'rotated-password', AWSPREVIOUS: backupTimePassword }, asked)),
    );

    expect(report).toMatchObject({ ok: true, credential: 'AWSPREVIOUS' });
    expect(asked).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
  });

  it('reports AWSCURRENT and never builds the previous pool when the current password works', async () => {
    const asked: string[] = [];
    const report = await verifyRestore(input, depsWith(poolWith({ AWSCURRENT: backupTimePassword }, asked)));

    expect(report).toMatchObject({ ok: true, credential: 'AWSCURRENT' });
    expect(asked).toEqual(['AWSCURRENT']);
  });

  it('fails with DatabaseUnavailableError when both versions are refused', async () => {
    const err = await verifyRestore(
      input,
      depsWith(poolWith({ AWSCURRENT: 'rotated-password', AWSPREVIOUS: 'older-password' })),
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(/the current and the previous master password were both refused/);
    expect((err as Error).message).toMatch(/28P01/);
  });

  it('fails with the refusal of the current password when there is no previous version', async () => {
    const err = await verifyRestore(input, depsWith(poolWith({ AWSCURRENT: 'rotated-password' }))).catch(
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(new RegExp(`password authentication failed for user "${role}"`));
  });
});
