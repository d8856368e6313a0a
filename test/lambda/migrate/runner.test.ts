import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import {
  MigrationError,
  MigrationIntegrityError,
  MigrationLintError,
  MigrationLockTimeoutError,
} from '../../../lambda/migrate/errors';
import { loadMigrations } from '../../../lambda/migrate/migrations';
import { MIGRATION_LOCK_KEY, runMigrations } from '../../../lambda/migrate/runner';
import { createPool } from '../../../lambda/shared/db';
import { DatabaseUnavailableError } from '../../../lambda/shared/errors';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';
import { closedPort, migrationDir, tolerateForcedDrop } from './fixtures';

// Runner edge cases on synthetic migrations; each test gets its own fresh database.

const BASE = {
  '0001_create_widgets.sql': 'CREATE TABLE widgets (id int PRIMARY KEY, name text);\n',
  '0002_seed_widgets.sql': "INSERT INTO widgets VALUES (1, 'a;b'), (2, $$c;d$$);\n",
};

let db: TestDatabase;
let dirs: string[] = [];

function dir(files: Record<string, string>): string {
  const d = migrationDir(files);
  dirs.push(d);
  return d;
}

async function history(): Promise<{ version: number; name: string }[]> {
  const { rows } = await db.pool.query('SELECT version, name FROM crm_meta.schema_migrations ORDER BY version');
  return rows;
}

beforeEach(async () => {
  db = await createTestDatabase('crm_migrate_runner');
  tolerateForcedDrop(db.pool);
});

afterEach(async () => {
  await db.drop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

describe('runMigrations', () => {
  it('applies pending migrations in order and records each in the history', async () => {
    const migrations = loadMigrations(dir(BASE));

    const result = await runMigrations(db.pool, { migrations, appliedBy: 'jest' });

    expect(result.applied.map((m) => m.version)).toEqual([1, 2]);
    expect(result).toMatchObject({ previousVersion: 0, currentVersion: 2, latestVersion: 2, pending: [] });
    const { rows } = await db.pool.query(
      'SELECT version, name, checksum, duration_ms, applied_by FROM crm_meta.schema_migrations ORDER BY version',
    );
    expect(rows).toEqual([
      {
        version: 1,
        name: 'create_widgets',
        checksum: migrations[0].checksum,
        duration_ms: expect.any(Number),
        applied_by: 'jest',
      },
      {
        version: 2,
        name: 'seed_widgets',
        checksum: migrations[1].checksum,
        duration_ms: expect.any(Number),
        applied_by: 'jest',
      },
    ]);
    expect((await db.pool.query('SELECT name FROM widgets ORDER BY id')).rows).toEqual([
      { name: 'a;b' },
      { name: 'c;d' },
    ]);
  });

  it('records the session user as applied_by by default', async () => {
    await runMigrations(db.pool, { migrations: loadMigrations(dir(BASE)) });

    const { rows } = await db.pool.query('SELECT DISTINCT applied_by FROM crm_meta.schema_migrations');
    expect(rows).toEqual([{ applied_by: 'crm_owner' }]);
  });

  it('is a no-op when run again', async () => {
    const migrations = loadMigrations(dir(BASE));
    await runMigrations(db.pool, { migrations });

    const again = await runMigrations(db.pool, { migrations });

    expect(again).toMatchObject({ applied: [], pending: [], previousVersion: 2, currentVersion: 2 });
    expect(await history()).toHaveLength(2);
  });

  it('plan mode lists pending migrations and writes nothing, not even the history table', async () => {
    const result = await runMigrations(db.pool, { migrations: loadMigrations(dir(BASE)), plan: true });

    expect(result).toMatchObject({ plan: true, applied: [], currentVersion: 0, latestVersion: 2 });
    expect(result.pending.map((m) => m.file)).toEqual(['0001_create_widgets.sql', '0002_seed_widgets.sql']);
    const { rows } = await db.pool.query("SELECT to_regclass('crm_meta.schema_migrations') AS t");
    expect(rows[0].t).toBeNull();
  });

  it('plan mode after a partial apply lists only what is left', async () => {
    await runMigrations(db.pool, {
      migrations: loadMigrations(dir({ '0001_create_widgets.sql': BASE['0001_create_widgets.sql'] })),
    });

    const result = await runMigrations(db.pool, { migrations: loadMigrations(dir(BASE)), plan: true });

    expect(result.pending.map((m) => m.version)).toEqual([2]);
    expect(result.currentVersion).toBe(1);
  });

  it('refuses to run when an applied migration was changed, naming the file, and applies nothing', async () => {
    const d = dir(BASE);
    await runMigrations(db.pool, { migrations: loadMigrations(d) });
    writeFileSync(join(d, '0002_seed_widgets.sql'), "INSERT INTO widgets VALUES (3, 'edited');\n");
    writeFileSync(join(d, '0003_more.sql'), 'CREATE TABLE more_widgets (id int);\n');

    const run = runMigrations(db.pool, { migrations: loadMigrations(d) });

    await expect(run).rejects.toThrow(MigrationIntegrityError);
    await expect(runMigrations(db.pool, { migrations: loadMigrations(d) })).rejects.toThrow(
      /0002_seed_widgets\.sql: changed after it was applied/,
    );
    expect(await history()).toHaveLength(2);
    expect((await db.pool.query("SELECT to_regclass('more_widgets') AS t")).rows[0].t).toBeNull();
  });

  it('refuses a tampered migration in plan mode too', async () => {
    const d = dir(BASE);
    await runMigrations(db.pool, { migrations: loadMigrations(d) });
    writeFileSync(join(d, '0001_create_widgets.sql'), 'CREATE TABLE widgets (id bigint PRIMARY KEY);\n');

    await expect(runMigrations(db.pool, { migrations: loadMigrations(d), plan: true })).rejects.toThrow(
      /0001_create_widgets\.sql: changed after it was applied/,
    );
  });

  it('refuses to run when an applied migration file is missing, naming it', async () => {
    const d = dir({ ...BASE, '0003_more.sql': 'CREATE TABLE more_widgets (id int);\n' });
    await runMigrations(db.pool, { migrations: loadMigrations(d) });
    unlinkSync(join(d, '0003_more.sql'));

    await expect(runMigrations(db.pool, { migrations: loadMigrations(d) })).rejects.toThrow(
      /0003_more\.sql: was applied to this database but its file is missing/,
    );
  });

  it('refuses to run when an applied migration was renamed', async () => {
    const d = dir(BASE);
    await runMigrations(db.pool, { migrations: loadMigrations(d) });
    unlinkSync(join(d, '0002_seed_widgets.sql'));
    writeFileSync(join(d, '0002_seed_gadgets.sql'), BASE['0002_seed_widgets.sql']);

    await expect(runMigrations(db.pool, { migrations: loadMigrations(d) })).rejects.toThrow(
      /0002_seed_gadgets\.sql: version 0002 was applied as 'seed_widgets'/,
    );
  });

  it('refuses a pending migration numbered below an applied one', async () => {
    const files = { ...BASE, '0003_more.sql': 'CREATE TABLE more_widgets (id int);\n' };
    await runMigrations(db.pool, { migrations: loadMigrations(dir(files)) });
    await db.pool.query('DELETE FROM crm_meta.schema_migrations WHERE version = 2');

    await expect(runMigrations(db.pool, { migrations: loadMigrations(dir(files)) })).rejects.toThrow(
      /0002_seed_widgets\.sql: is not applied but a later version \(0003\) is/,
    );
  });

  it('lets two concurrent runners finish: one applies everything, the other finds nothing to do', async () => {
    const migrations = loadMigrations(
      dir({
        '0001_slow_start.sql': 'SELECT pg_sleep(0.3);\nCREATE TABLE a (id int);\n',
        '0002_second.sql': 'CREATE TABLE b (id int);\n',
        '0003_third.sql': 'CREATE TABLE c (id int);\n',
      }),
    );

    const results = await Promise.all([runMigrations(db.pool, { migrations }), runMigrations(db.pool, { migrations })]);

    const counts = results.map((r) => r.applied.length).sort();
    expect(counts).toEqual([0, 3]);
    expect(results.map((r) => r.currentVersion)).toEqual([3, 3]);
    expect((await history()).map((h) => h.version)).toEqual([1, 2, 3]);
  });

  it('stops at a failing migration with file, statement and SQL error, keeping earlier migrations applied', async () => {
    const d = dir({
      ...BASE,
      '0003_broken.sql':
        '-- creates a table, then fails\nCREATE TABLE t3 (id int);\n\nINSERT INTO no_such_table VALUES (1);\n',
      '0004_never.sql': 'CREATE TABLE t4 (id int);\n',
    });

    const error = await runMigrations(db.pool, { migrations: loadMigrations(d) }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({
      file: '0003_broken.sql',
      version: 3,
      statementIndex: 2,
      line: 4,
      statement: 'INSERT INTO no_such_table VALUES (1)',
      sqlState: '42P01',
      currentVersion: 2,
    });
    expect((error as Error).message).toMatch(
      /^0003_broken\.sql failed at statement 2 \(line 4\): relation "no_such_table" does not exist .*The database stays at version 2\.$/,
    );
    expect((await history()).map((h) => h.version)).toEqual([1, 2]);
    const { rows } = await db.pool.query("SELECT to_regclass('t3') AS t3, to_regclass('t4') AS t4");
    expect(rows[0]).toEqual({ t3: null, t4: null });
  });

  it('releases the advisory lock after a failure, so the next run can proceed', async () => {
    await expect(
      runMigrations(db.pool, { migrations: loadMigrations(dir({ '0001_broken.sql': 'SELECT 1/0;\n' })) }),
    ).rejects.toThrow(/division by zero/);

    const result = await runMigrations(db.pool, { migrations: loadMigrations(dir(BASE)), advisoryLockWaitMs: 1_000 });

    expect(result.currentVersion).toBe(2);
  });

  it('fails fast with lock_timeout when another session holds a lock on the table', async () => {
    const d = dir({ '0001_create_widgets.sql': BASE['0001_create_widgets.sql'] });
    await runMigrations(db.pool, { migrations: loadMigrations(d) });
    writeFileSync(join(d, '0002_add_column.sql'), 'ALTER TABLE widgets ADD COLUMN colour text;\n');
    const reader = await db.pool.connect();
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT * FROM widgets'); // holds ACCESS SHARE until the transaction ends

      const error = await runMigrations(db.pool, { migrations: loadMigrations(d), lockTimeoutMs: 100 }).catch(
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(MigrationError);
      expect(error).toMatchObject({ file: '0002_add_column.sql', sqlState: '55P03', currentVersion: 1 });
      expect((error as Error).message).toMatch(/lock timeout/);
    } finally {
      await reader.query('ROLLBACK');
      reader.release();
    }
    expect((await runMigrations(db.pool, { migrations: loadMigrations(d), lockTimeoutMs: 100 })).applied).toHaveLength(
      1,
    );
  });

  it('cancels a statement that exceeds statement_timeout', async () => {
    const migrations = loadMigrations(dir({ '0001_slow.sql': 'SELECT pg_sleep(10);\n' }));

    await expect(runMigrations(db.pool, { migrations, statementTimeoutMs: 100 })).rejects.toMatchObject({
      sqlState: '57014',
      file: '0001_slow.sql',
    });
  });

  it('gives up waiting for another runner after advisoryLockWaitMs', async () => {
    const holder = await db.pool.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);

      const run = runMigrations(db.pool, { migrations: loadMigrations(dir(BASE)), advisoryLockWaitMs: 100 });

      await expect(run).rejects.toThrow(MigrationLockTimeoutError);
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      holder.release();
    }
  });

  it('runs a -- crm:no-transaction migration outside a transaction (CREATE INDEX CONCURRENTLY)', async () => {
    const migrations = loadMigrations(
      dir({
        ...BASE,
        '0003_index_widgets.sql':
          '-- crm:no-transaction\nCREATE INDEX CONCURRENTLY widgets_name_idx ON widgets (name);\n' +
          'CREATE INDEX CONCURRENTLY widgets_id_name_idx ON widgets (id, name);\n',
      }),
    );

    const result = await runMigrations(db.pool, { migrations });

    expect(result.currentVersion).toBe(3);
    const { rows } = await db.pool.query(
      "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'widgets_%_idx' ORDER BY 1",
    );
    expect(rows).toEqual([
      { relname: 'widgets_id_name_idx', indisvalid: true },
      { relname: 'widgets_name_idx', indisvalid: true },
    ]);
  });

  it('refuses to record a no-transaction migration whose IF NOT EXISTS skipped an INVALID index, naming the cause', async () => {
    const d = dir(BASE);
    await runMigrations(db.pool, { migrations: loadMigrations(d) });
    // What an interrupted CREATE INDEX CONCURRENTLY leaves: the index exists but is not valid.
    await db.pool.query('CREATE INDEX widgets_name_idx ON widgets (name)');
    await db.pool.query("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'widgets_name_idx'::regclass");
    writeFileSync(
      join(d, '0003_index_widgets.sql'),
      '-- crm:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_name_idx ON widgets (name);\n' +
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_id_name_idx ON widgets (id, name);\n',
    );

    const error = await runMigrations(db.pool, { migrations: loadMigrations(d) }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ file: '0003_index_widgets.sql', statementIndex: 1, line: 2 });
    expect((error as Error).message).toMatch(
      /IF NOT EXISTS skipped .*widgets_name_idx.* an INVALID index of that name already exists .*DROP INDEX CONCURRENTLY public\.widgets_name_idx/,
    );
    expect(await history()).toHaveLength(2);
  });

  it('ignores INVALID indexes the file does not create', async () => {
    const d = dir(BASE);
    await runMigrations(db.pool, { migrations: loadMigrations(d) });
    await db.pool.query('CREATE TABLE unrelated (id int); CREATE INDEX unrelated_id_idx ON unrelated (id)');
    await db.pool.query("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'unrelated_id_idx'::regclass");
    writeFileSync(
      join(d, '0003_index_widgets.sql'),
      '-- crm:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_name_idx ON widgets (name);\n',
    );

    const result = await runMigrations(db.pool, { migrations: loadMigrations(d) });

    expect(result.currentVersion).toBe(3);
  });

  it('lets CREATE INDEX CONCURRENTLY wait for older transactions beyond the short lock_timeout', async () => {
    const d = dir(BASE);
    await runMigrations(db.pool, { migrations: loadMigrations(d) });
    writeFileSync(
      join(d, '0003_index_widgets.sql'),
      '-- crm:no-transaction\nCREATE INDEX CONCURRENTLY widgets_name_idx ON widgets (name);\n',
    );
    const writer = await db.pool.connect();
    let run: Promise<unknown> | undefined;
    try {
      await writer.query('BEGIN');
      await writer.query("INSERT INTO widgets VALUES (3, 'open')"); // CIC waits for this transaction
      let settled = false;
      run = runMigrations(db.pool, { migrations: loadMigrations(d), lockTimeoutMs: 50 })
        .catch((e: unknown) => e)
        .finally(() => {
          settled = true;
        });
      for (let waiting = false; !waiting && !settled; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const { rows } = await writer.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND wait_event_type = 'Lock'",
        );
        waiting = rows[0].n > 0;
      }
      // Several lock_timeouts long: a CIC bound by lock_timeout would have failed by now.
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await writer.query('COMMIT');
      writer.release();
    }

    const result = await run;

    expect(result).toMatchObject({ currentVersion: 3 });
    const { rows } = await db.pool.query(
      "SELECT indisvalid FROM pg_index WHERE indexrelid = 'widgets_name_idx'::regclass",
    );
    expect(rows).toEqual([{ indisvalid: true }]);
  });

  it('drops the INVALID index a failed CREATE INDEX CONCURRENTLY left behind, and says so', async () => {
    const d = dir(BASE);
    await runMigrations(db.pool, { migrations: loadMigrations(d) });
    await db.pool.query("INSERT INTO widgets VALUES (3, 'a;b')"); // a duplicate name
    writeFileSync(
      join(d, '0003_unique_names.sql'),
      '-- crm:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY widgets_name_key ON widgets (name);\n',
    );

    const error = await runMigrations(db.pool, { migrations: loadMigrations(d) }).catch((e: unknown) => e);

    expect(error).toMatchObject({ file: '0003_unique_names.sql', sqlState: '23505', line: 2 });
    expect((error as Error).message).toMatch(/dropped the INVALID index public\.widgets_name_key/);
    expect((await db.pool.query("SELECT to_regclass('widgets_name_key') AS i")).rows).toEqual([{ i: null }]);
    expect(await history()).toHaveLength(2);
  });

  it('records a failed attempt of a no-transaction migration, shows it in plan mode, and resolves it once the file applies', async () => {
    const d = dir({
      ...BASE,
      '0003_names.sql':
        '-- crm:no-transaction\nCREATE TABLE IF NOT EXISTS gadgets (id int);\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS widgets_id_key ON widgets (id);\nINSERT INTO no_such_table VALUES (1);\n',
    });
    const migrations = loadMigrations(d);

    await expect(runMigrations(db.pool, { migrations, appliedBy: 'ci@deploy' })).rejects.toMatchObject({
      statementIndex: 3,
      sqlState: '42P01',
    });

    const plan = await runMigrations(db.pool, { migrations, plan: true });
    expect(plan.pending.map((m) => m.version)).toEqual([3]);
    expect(plan.failedAttempts).toEqual([
      expect.objectContaining({
        version: 3,
        file: '0003_names.sql',
        statementIndex: 3,
        line: 4,
        committedStatements: 2,
        sqlState: '42P01',
        message: expect.stringMatching(/^0003_names\.sql failed at statement 3 \(line 4\): relation "no_such_table"/),
      }),
    ]);
    const { rows: recorded } = await db.pool.query('SELECT failed_by FROM crm_meta.schema_migration_failures');
    expect(recorded).toEqual([{ failed_by: 'ci@deploy' }]);
    // The committed statements are there: the repair is to make the rest succeed and run again.
    expect((await db.pool.query("SELECT to_regclass('gadgets') IS NOT NULL AS g")).rows).toEqual([{ g: true }]);

    await db.pool.query('CREATE TABLE no_such_table (id int)');
    const result = await runMigrations(db.pool, { migrations });

    expect(result.applied.map((m) => m.version)).toEqual([3]);
    expect(result.failedAttempts).toEqual([]);
    const { rows } = await db.pool.query(
      'SELECT version, resolved_at IS NOT NULL AS resolved FROM crm_meta.schema_migration_failures',
    );
    expect(rows).toEqual([{ version: 3, resolved: true }]);
  });

  it('records nothing for a failing transactional migration: it rolled back whole', async () => {
    const d = dir({ ...BASE, '0003_broken.sql': 'CREATE TABLE t3 (id int);\nSELECT 1/0;\n' });

    await expect(runMigrations(db.pool, { migrations: loadMigrations(d) })).rejects.toThrow(/division by zero/);

    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM crm_meta.schema_migration_failures');
    expect(rows).toEqual([{ n: 0 }]);
  });

  it.each([
    ['search_path', 'SET search_path = nowhere;\nCREATE TABLE public.a (id int);\n'],
    ['default_transaction_read_only', 'SET default_transaction_read_only = on;\nCREATE TABLE a (id int);\n'],
    ['role', 'SET ROLE pg_read_all_data;\nSELECT 1;\n'],
    ['a no-transaction file', '-- crm:no-transaction\nSET search_path = nowhere;\nCREATE TABLE public.a (id int);\n'],
  ])('does not let a non-LOCAL SET (%s) leak into the next migration', async (_, first) => {
    const migrations = loadMigrations(
      dir({ '0001_sets_something.sql': first, '0002_next.sql': 'CREATE TABLE b (id int);\n' }),
    );

    const result = await runMigrations(db.pool, { migrations });

    expect(result.currentVersion).toBe(2);
    const { rows } = await db.pool.query("SELECT to_regclass('public.b') IS NOT NULL AS b");
    expect(rows).toEqual([{ b: true }]);
  });

  it('refuses a pending migration that breaks a lint rule before locking or applying anything, in plan mode too', async () => {
    const d = dir({
      ...BASE,
      '0003_index_widgets.sql': 'CREATE INDEX CONCURRENTLY widgets_name_idx ON widgets (name);\n',
      '0004_more.sql': 'CREATE TABLE gadgets (id int);\n',
    });
    const migrations = loadMigrations(d);

    for (const plan of [true, false]) {
      const error = await runMigrations(db.pool, { migrations, plan }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationLintError);
      expect(error).toMatchObject({
        findings: [{ file: '0003_index_widgets.sql', rule: 'concurrently-in-transaction', line: 1 }],
      });
      expect((error as Error).message).toMatch(/0003_index_widgets\.sql:1 \[concurrently-in-transaction\]/);
    }
    const { rows } = await db.pool.query(
      "SELECT to_regclass('crm_meta.schema_migrations') AS h, to_regclass('widgets') AS w",
    );
    expect(rows).toEqual([{ h: null, w: null }]);
  });

  it('does not lint applied migrations again: a rule added later cannot block the next deploy', async () => {
    const d = dir({ ...BASE, '0003_truncate.sql': 'TRUNCATE widgets;\n' });
    await runMigrations(db.pool, { migrations: loadMigrations(d), lint: false });
    writeFileSync(join(d, '0004_more.sql'), 'CREATE TABLE gadgets (id int);\n');

    const result = await runMigrations(db.pool, { migrations: loadMigrations(d) });

    expect(result.applied.map((m) => m.version)).toEqual([4]);
  });

  it('fails CREATE INDEX CONCURRENTLY without the no-transaction directive (lint off)', async () => {
    const migrations = loadMigrations(
      dir({ ...BASE, '0003_index_widgets.sql': 'CREATE INDEX CONCURRENTLY widgets_name_idx ON widgets (name);\n' }),
    );

    await expect(runMigrations(db.pool, { migrations, lint: false })).rejects.toMatchObject({
      file: '0003_index_widgets.sql',
      sqlState: '25001',
    });
  });

  it('fails with DatabaseUnavailableError naming the target when the database is unreachable', async () => {
    const port = await closedPort();
    const pool = createPool({ host: '127.0.0.1', port, database: 'crm', user: 'x', password: 'x', tls: 'disable' });
    try {
      const run = runMigrations(pool, {
        migrations: loadMigrations(dir(BASE)),
        connectAttempts: 2,
        connectRetryDelayMs: 10,
        target: `crm at 127.0.0.1:${port}`,
      });

      await expect(run).rejects.toThrow(DatabaseUnavailableError);
      await expect(
        runMigrations(pool, { migrations: loadMigrations(dir(BASE)), connectAttempts: 2, connectRetryDelayMs: 10 }),
      ).rejects.toThrow(/could not connect to the database after 2 attempts: .*ECONNREFUSED/);
    } finally {
      await pool.end();
    }
  });
});

describe('concurrent runners on the real migrations (0004 builds indexes CONCURRENTLY)', () => {
  async function runSimultaneously(count: number) {
    const pools = Array.from({ length: count }, () => {
      const pool = new Pool({ connectionString: db.url, max: 1 });
      tolerateForcedDrop(pool);
      return pool;
    });
    try {
      const migrations = loadMigrations();
      const results = await Promise.allSettled(
        pools.map((pool) => runMigrations(pool, { migrations, advisoryLockWaitMs: 60_000 })),
      );
      return { migrations, results };
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  }

  it.each([2, 3])('%i simultaneous runners on a fresh database all succeed, each migration applied once', async (n) => {
    const { migrations, results } = await runSimultaneously(n);

    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(Array(n).fill('ok'));
    const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value.applied.map((m) => m.version) : []));
    expect(applied.sort((a, b) => a - b)).toEqual(migrations.map((m) => m.version));
    expect((await history()).map((h) => h.version)).toEqual(migrations.map((m) => m.version));
    const { rows } = await db.pool.query(
      "SELECT count(*)::int AS invalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = 'crm'",
    );
    expect(rows).toEqual([{ invalid: 0 }]);
  });
});
