import { main } from '../../../bin/migrate';
import { loadMigrations } from '../../../lambda/migrate/migrations';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';
import { closedPort, migrationDir, tolerateForcedDrop } from './fixtures';

/** When set, the CLI reads its migrations from this folder instead of the real one. */
let folder: string | undefined;
jest.mock('../../../lambda/migrate/migrations', () => {
  const actual = jest.requireActual('../../../lambda/migrate/migrations');
  return { ...actual, loadMigrations: (dir?: string) => actual.loadMigrations(folder ?? dir) };
});

// bin/migrate.ts against a fresh test database (DATABASE_URL set, so no embedded cluster is started).

let db: TestDatabase;
const latest = loadMigrations().length;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

beforeAll(async () => {
  db = await createTestDatabase('crm_migrate_cli');
  tolerateForcedDrop(db.pool);
});

afterAll(async () => {
  await db.drop();
});

describe('npm run migrate', () => {
  it('--plan refuses a pending migration that breaks a lint rule, one finding per line, and applies nothing', async () => {
    folder = migrationDir({
      '0001_widgets.sql': 'CREATE TABLE widgets (id int, name text);\n',
      '0002_index.sql': '-- no CONCURRENTLY\nCREATE INDEX widgets_name_idx ON widgets (name);\nLOCK TABLE widgets;\n',
    });
    const { out, err, io } = capture();

    try {
      const code = await main(['--plan'], { DATABASE_URL: db.url }, io);

      expect(code).toBe(1);
      expect(out).toEqual([]);
      expect(err).toEqual([
        'migrate: 2 lint findings in pending migrations; nothing was applied:',
        expect.stringMatching(
          /^ {2}0002_index\.sql:2 \[create-index\] CREATE INDEX widgets_name_idx ON widgets \(name\) — /,
        ),
        expect.stringMatching(/^ {2}0002_index\.sql:3 \[lock-table\] LOCK TABLE widgets — /),
        '  See docs/migrations.md ("The lint") for each rule and the safe pattern.',
      ]);
      const { rows } = await db.pool.query("SELECT to_regclass('crm_meta.schema_migrations') AS t");
      expect(rows[0].t).toBeNull();
    } finally {
      folder = undefined;
    }
  });

  it('--plan lists pending migrations and applies nothing', async () => {
    const { out, io } = capture();

    const code = await main(['--plan'], { DATABASE_URL: db.url }, io);

    expect(code).toBe(0);
    expect(out[0]).toMatch(/^VERSION\s+FILE\s+STATUS$/);
    expect(out[1]).toMatch(/^0001\s+0001_roles_and_schema\.sql\s+pending$/);
    expect(out.at(-1)).toBe(
      `${db.name} at 127.0.0.1:${new URL(db.url).port} is at version 0; ${latest} migration(s) would be applied.`,
    );
    const { rows } = await db.pool.query("SELECT to_regclass('crm_meta.schema_migrations') AS t");
    expect(rows[0].t).toBeNull();
  });

  it('applies pending migrations and prints a table', async () => {
    const { out, io } = capture();

    const code = await main([], { DATABASE_URL: db.url }, io);

    expect(code).toBe(0);
    expect(out[0]).toMatch(/^VERSION\s+NAME\s+STATUS\s+DURATION$/);
    expect(out).toHaveLength(latest + 2);
    expect(out.at(-1)).toMatch(new RegExp(`version 0 -> ${latest} \\(${latest} applied\\)\\.$`));
  });

  it('reports an up-to-date database', async () => {
    const { out, io } = capture();

    expect(await main([], { DATABASE_URL: db.url }, io)).toBe(0);
    expect(out).toEqual([
      expect.stringMatching(new RegExp(`is up to date at version ${latest}; nothing to apply\\.$`)),
    ]);
  });

  it.each([
    [['--bogus'], {}, 2, /^migrate: unknown flag '--bogus' \(usage: npm run migrate \[-- --plan\]\)$/],
    [[], { DATABASE_URL: 'not a url' }, 1, /^migrate: DATABASE_URL is not a valid URL/],
    [[], { DATABASE_URL: 'mysql://u:p@localhost/crm' }, 1, /^migrate: DATABASE_URL must start with postgres:\/\//],
    [
      [],
      { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/crm', MIGRATION_LOCK_TIMEOUT_MS: 'soon' },
      1,
      /MIGRATION_LOCK_TIMEOUT_MS: must be a positive integer/,
    ],
  ])('fails with a one-line reason: %j %j', async (argv, env, expectedCode, message) => {
    const { err, io } = capture();

    const code = await main(argv, env, io);

    expect(code).toBe(expectedCode);
    expect(err).toEqual([expect.stringMatching(message)]);
  });

  it('fails with a one-line reason when the database is unreachable', async () => {
    const port = await closedPort();
    const { err, io } = capture();

    const code = await main([], { DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/crm` }, io);

    expect(code).toBe(1);
    expect(err).toEqual([
      expect.stringMatching(
        new RegExp(`^migrate: could not connect to crm at 127\\.0\\.0\\.1:${port} after 2 attempts`),
      ),
    ]);
  });
});
