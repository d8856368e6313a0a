import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes synthetic migration files to a fresh temp directory and returns its path. */
export function migrationDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'crm-migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

/** A local TCP port with nothing listening on it (connections are refused). */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `TestDatabase.drop()` ends the pool and then drops the database WITH (FORCE); pg-pool resolves
 * end() before its idle connections have closed, so the server may terminate one (57P01) while
 * it is still attached to the pool, which then emits 'error'. Without a listener that would fail
 * whichever test is running. Anything else is rethrown.
 */
export function tolerateForcedDrop(pool: import('pg').Pool): void {
  pool.on('error', (err: Error & { code?: string }) => {
    if (err.code !== '57P01') throw err;
  });
}
