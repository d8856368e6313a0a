/**
 * Benchmark helper: serves the API in its own process (so autocannon and the server do not share
 * an event loop). Args: <databaseUrl> <authSecret> <poolMax>. Prints `listening <port>`.
 */
import { startLocalApiServer } from '../../lib/local/api-server';

async function main() {
  const [databaseUrl, authSecret, poolMax] = process.argv.slice(2);
  const server = await startLocalApiServer({ databaseUrl, authSecret, poolMax: Number(poolMax) });
  console.log(`listening ${server.port}`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
void main();
