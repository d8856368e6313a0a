/**
 * `npm run dev [-- --seed]`: the CRM API on http://localhost:3000 (PORT overrides) against the
 * embedded PostgreSQL 18 under .crm/, migrated with the project's runner. Auth: the bearer tokens
 * written to .crm/dev-tokens.json (one per group), in place of the Cognito authorizer.
 * Ctrl-C stops the server and PostgreSQL.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { runMigrations } from '../lambda/migrate/runner';
import { createPool, optionsFromUrl } from '../lambda/shared/db';
import { startLocalApiServer } from '../lib/local/api-server';
import { loadDevSecret, writeDevTokens } from '../lib/local/dev-auth';
import { startLocalPostgres } from '../lib/local/embedded-postgres';
import { seedDemoData } from '../lib/local/seed';

async function main(): Promise<void> {
  const seed = process.argv.includes('--seed');
  const port = Number(process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a port number (got '${process.env.PORT}')`);

  const pg = await startLocalPostgres();
  if (pg.joined) console.log('PostgreSQL:  joined the embedded cluster already running under .crm/ (it keeps running)');
  let server: Awaited<ReturnType<typeof startLocalApiServer>> | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await server?.close().catch(() => {});
    await pg.stop().catch(() => {});
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    const owner = createPool(optionsFromUrl(pg.url, { max: 2 }));
    try {
      const result = await runMigrations(owner);
      console.log(`migrations: schema at version ${result.currentVersion} (${result.applied.length} applied now)`);
      if (seed) {
        const counts = await seedDemoData(owner);
        console.log(
          counts
            ? `seed: ${counts.companies} companies, ${counts.contacts} contacts, ${counts.deals} deals, ${counts.activities} activities`
            : 'seed: skipped, the database already has companies',
        );
      }
    } finally {
      await owner.end();
    }

    const secret = loadDevSecret();
    const tokenFile = await writeDevTokens(secret);
    server = await startLocalApiServer({
      databaseUrl: pg.url,
      authSecret: secret,
      port,
      hostname: '127.0.0.1',
      logger: new Logger({ serviceName: 'crm-api', logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' }),
    });
    console.log(`CRM API:     http://localhost:${server.port}/v1  (health: /v1/health, spec: /v1/openapi.json)`);
    console.log(`dev tokens:  ${tokenFile}`);
    console.log(
      `try:         curl -H "Authorization: Bearer $(node -p "require('${tokenFile}').admin")" http://localhost:${server.port}/v1/me`,
    );
    console.log(pg.joined ? 'Ctrl-C stops the server.' : 'Ctrl-C stops the server and PostgreSQL.');
  } catch (err) {
    console.error(`dev server failed: ${err instanceof Error ? err.message : String(err)}`);
    await stop(1);
  }
}

main().catch((err: unknown) => {
  // Bad PORT, or PostgreSQL could not start: one line, non-zero exit.
  console.error(`dev server failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
