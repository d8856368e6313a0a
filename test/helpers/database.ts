import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';

export interface TestDatabase {
  /** Connection URL of the fresh database, as the owner (superuser on embedded PostgreSQL). */
  readonly url: string;
  /** Name of the fresh database. */
  readonly name: string;
  /** A pool on the fresh database; closed by `drop()`. */
  readonly pool: Pool;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: jest globalSetup starts embedded PostgreSQL');
  return url;
}

/** Creates a new, empty database on the test server. One per test file: tests never share state. */
export async function createTestDatabase(prefix = 'crm_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    // The name is generated above from [a-z0-9_] only, so quoting it is safe.
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const pool = new Pool({ connectionString: url.toString(), max: 5 });
  // DROP ... WITH (FORCE) terminates idle pooled connections; that is expected, not a test failure.
  pool.on('error', () => {});
  return {
    url: url.toString(),
    name,
    pool,
    async drop() {
      await pool.end();
      const a = new Client({ connectionString: adminUrl() });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
