/**
 * The local cluster under `.crm/` (lib/local/embedded-postgres.ts): the state directory is open to
 * nobody but its owner (and, as root, lets the 'postgres' user through to its data directory),
 * and a checkout the 'postgres' user cannot reach fails early saying what to do.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
/** Some cases exist only as root: a non-root user runs PostgreSQL as itself. */
const asRootIt = asRoot ? it : it.skip;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs startLocalPostgres in a child process (embedded-postgres is an ES module, which jest's
 * CommonJS runtime cannot import), runs `SELECT 1` on the cluster and stops it.
 */
function startInChild(
  stateDir: string,
  port: number,
): Promise<{ ok: true; one: number } | { ok: false; error: string }> {
  const script = `
    const { Client } = require('pg');
    const { startLocalPostgres } = require('./lib/local/embedded-postgres.ts');
    (async () => {
      let pg;
      try {
        pg = await startLocalPostgres({ stateDir: process.argv[1], port: Number(process.argv[2]), log: () => {} });
        const client = new Client({ connectionString: pg.url });
        await client.connect();
        const { rows } = await client.query('SELECT 1 AS one');
        await client.end();
        console.log(JSON.stringify({ ok: true, one: rows[0].one }));
      } catch (err) {
        console.log(JSON.stringify({ ok: false, error: err.message }));
      } finally {
        await pg?.stop();
      }
    })();`;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script, stateDir, String(port)], {
      cwd: resolve(__dirname, '../../..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', () => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        done(JSON.parse(line));
      } catch {
        fail(new Error(`no result from the child process: ${out}`));
      }
    });
  });
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'crm-local-pg-'));
  chmodSync(root, 0o755); // like a project under /srv: others may pass through
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o7777;

describe('the state directory', () => {
  it('is closed to other users (0710 to the postgres group as root, 0700 otherwise), even if an older run left it 0777', async () => {
    const stateDir = join(root, 'project', '.crm');
    mkdirSync(stateDir, { recursive: true });
    chmodSync(stateDir, 0o777);
    const result = await startInChild(stateDir, await freePort());
    expect(result).toEqual({ ok: true, one: 1 });
    if (asRoot) {
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      expect(mode(stateDir)).toBe(0o710);
      expect(statSync(stateDir)).toMatchObject({ uid: 0, gid });
      expect(statSync(join(stateDir, 'pgdata')).uid).toBe(uid);
    } else {
      expect(mode(stateDir)).toBe(0o700);
    }
    expect(mode(join(stateDir, 'pgdata'))).toBe(0o700);
    expect(mode(join(stateDir, 'pg-password'))).toBe(0o600);
  });
});

describe('as root, in a directory the postgres user cannot enter', () => {
  asRootIt('fails before initdb, naming the directory and what to do, and creates no data directory', async () => {
    const home = join(root, 'home-of-root');
    mkdirSync(join(home, 'project'), { recursive: true });
    chmodSync(home, 0o700); // like /root
    const stateDir = join(home, 'project', '.crm');
    const result = await startInChild(stateDir, await freePort());
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.error).toMatch(
      new RegExp(
        `'postgres' user, which cannot enter ${home} \\(mode 0700, owner uid 0\\).*Run as a non-root user.*setfacl -m u:postgres:x ${home}`,
      ),
    );
    expect(() => statSync(join(stateDir, 'pgdata'))).toThrow(/ENOENT/);
  });
});
