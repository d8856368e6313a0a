/**
 * Local migration CLI.
 *
 *   npm run migrate               apply pending migrations
 *   npm run migrate -- --plan     list pending migrations, apply nothing
 *
 * Targets DATABASE_URL (postgres://user:password@host:port/db, `?sslmode=verify-full` for TLS),
 * or, when it is unset, the embedded PostgreSQL 18 under .crm/ (started here and stopped again).
 * MIGRATION_LOCK_TIMEOUT_MS / MIGRATION_STATEMENT_TIMEOUT_MS override the runner's timeouts.
 * Any failure exits non-zero with a one-line reason.
 */
import { hostname, userInfo } from 'node:os';
import { MigrationLintError } from '../lambda/migrate/errors';
import { loadMigrations } from '../lambda/migrate/migrations';
import { type MigrationRunResult, runMigrations } from '../lambda/migrate/runner';
import { createPool, optionsFromUrl } from '../lambda/shared/db';
import { ConfigError, errorMessage } from '../lambda/shared/errors';
import { startLocalPostgres } from '../lib/local/embedded-postgres';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = 'usage: npm run migrate [-- --plan]';

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): { plan: boolean; help: boolean } {
  let plan = false;
  let help = false;
  for (const arg of argv) {
    if (arg === '--plan') plan = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else throw new UsageError(`unknown ${arg.startsWith('-') ? 'flag' : 'argument'} '${arg}' (${USAGE})`);
  }
  return { plan, help };
}

function timeoutFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(name, `must be a positive integer (got '${raw}')`);
  return value;
}

function whoAmI(): string {
  try {
    return `${userInfo().username}@${hostname()} (cli)`;
  } catch {
    return `${hostname()} (cli)`;
  }
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  return rows.map((row) =>
    row
      .map((cell, col) => cell.padEnd(widths[col]))
      .join('  ')
      .trimEnd(),
  );
}

function report(result: MigrationRunResult, target: string, io: CliIo): void {
  const pad = (v: number) => String(v).padStart(4, '0');
  if (result.plan) {
    if (result.pending.length === 0) {
      io.out(`${target} is up to date at version ${result.currentVersion}; nothing to apply.`);
      return;
    }
    for (const line of table([
      ['VERSION', 'FILE', 'STATUS'],
      ...result.pending.map((m) => [pad(m.version), m.file, 'pending']),
    ])) {
      io.out(line);
    }
    io.out(`${target} is at version ${result.currentVersion}; ${result.pending.length} migration(s) would be applied.`);
    for (const attempt of result.failedAttempts) {
      io.out(
        `${attempt.file} failed on ${attempt.failedAt.toISOString()} at statement ${attempt.statementIndex} (line ${attempt.line}) ` +
          `with ${attempt.committedStatements} statement(s) committed; the next run starts it from the top. ` +
          'See docs/migrations.md, "Repairing a failed no-transaction migration".',
      );
    }
    return;
  }
  if (result.applied.length === 0) {
    io.out(`${target} is up to date at version ${result.currentVersion}; nothing to apply.`);
    return;
  }
  const rows = result.applied.map((m) => [pad(m.version), m.name, 'applied', `${m.durationMs} ms`]);
  for (const line of table([['VERSION', 'NAME', 'STATUS', 'DURATION'], ...rows])) io.out(line);
  io.out(
    `${target}: version ${result.previousVersion} -> ${result.currentVersion} (${result.applied.length} applied).`,
  );
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 bad usage). */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let stopLocal: (() => Promise<void>) | undefined;
  let endPool: (() => Promise<void>) | undefined;
  try {
    const { plan, help } = parseArgs(argv);
    if (help) {
      io.out(USAGE);
      return 0;
    }
    const lockTimeoutMs = timeoutFromEnv(env, 'MIGRATION_LOCK_TIMEOUT_MS');
    const statementTimeoutMs = timeoutFromEnv(env, 'MIGRATION_STATEMENT_TIMEOUT_MS');
    const migrations = loadMigrations();

    let url = env.DATABASE_URL;
    if (!url) {
      const local = await startLocalPostgres();
      io.err(
        `DATABASE_URL is not set: using the embedded PostgreSQL under .crm/${local.joined ? ' (already running)' : ''}`,
      );
      stopLocal = () => local.stop();
      url = local.url;
    }
    const options = optionsFromUrl(url, { max: 1, connectTimeoutMs: 5_000, applicationName: 'crm-migrate-cli' });
    const target = `${options.database} at ${options.host}:${options.port}`;
    const pool = createPool(options);
    pool.on('error', () => undefined); // an idle connection closing is not a migration failure
    endPool = () => pool.end();

    const result = await runMigrations(pool, {
      migrations,
      plan,
      lockTimeoutMs,
      statementTimeoutMs,
      appliedBy: whoAmI(),
      connectAttempts: 2,
      connectRetryDelayMs: 1_000,
      target,
      onProgress: (event) => {
        if (event.type === 'applying') io.err(`applying ${event.file} ...`);
      },
    });
    report(result, target, io);
    return 0;
  } catch (err) {
    if (err instanceof MigrationLintError) {
      // One finding per line, file:line first, so an editor or CI log can jump to each.
      const [summary, ...findings] = err.message.split('\n');
      io.err(`migrate: ${summary}`);
      for (const finding of findings) io.err(`  ${finding}`);
      io.err('  See docs/migrations.md ("The lint") for each rule and the safe pattern.');
      return 1;
    }
    io.err(`migrate: ${errorMessage(err).replace(/\s*\n\s*/g, ' ')}`);
    return err instanceof UsageError ? 2 : 1;
  } finally {
    await endPool?.().catch(() => undefined);
    await stopLocal?.().catch(() => undefined);
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env, {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  }).then((code) => {
    // Explicit: embedded-postgres installs an exit hook that would otherwise end the process with 0.
    process.exit(code);
  });
}
