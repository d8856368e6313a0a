/**
 * `npm run advisor -- [--database-url URL] [--json] [--instance-class db.r7g.large] [--memory-gib 16]`
 *
 * Prints the database advisor report for one PostgreSQL database: the readable text report, or
 * the JSON report with --json. The database is --database-url, else DATABASE_URL, else the local
 * embedded dev database under .crm/ (the one `npm run dev` uses: reused when it is running,
 * started for the run and stopped afterwards when it is not).
 *
 * Exit codes: 0 report printed (whatever it found), 1 the advisor could not run (unreachable
 * database, query failure), 2 bad command line. Failures print one line to stderr.
 */
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { runAdvisor } from '../lambda/advisor/advisor';
import { instanceClassMemoryGiB } from '../lambda/advisor/instance-classes';
import { renderReport } from '../lambda/advisor/render';
import { optionsFromUrl, poolConfig } from '../lambda/shared/db';
import { DatabaseUnavailableError, errorMessage, ValidationError } from '../lambda/shared/errors';
import { startLocalPostgres } from '../lib/local/embedded-postgres';

export interface CliArgs {
  readonly databaseUrl?: string;
  readonly json: boolean;
  readonly instanceClass?: string;
  readonly memoryGiB?: number;
  readonly help: boolean;
}

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

const USAGE =
  'usage: npm run advisor -- [--database-url postgres://user:password@host:port/db] [--json] [--instance-class db.r7g.large] [--memory-gib 16]';

/** Parses and validates the command line; throws ValidationError naming the bad flag. */
export function parseCliArgs(argv: readonly string[], env: CliIo['env'] = {}): CliArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'database-url': { type: 'string' },
        json: { type: 'boolean', default: false },
        'instance-class': { type: 'string' },
        'memory-gib': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    // node's messages run on with advice about positionals; keep the first sentence
    // (read .message directly: under jest the TypeError comes from another realm)
    const message = String((err as { message?: unknown }).message ?? err)
      .split('\n')[0]
      .replace(/\. To specify.*$/, '');
    const flag = /'(-[^']*)'/.exec(message)?.[1] ?? 'arguments';
    throw new ValidationError(flag, message);
  }
  const databaseUrl = (values['database-url'] as string | undefined) ?? env.DATABASE_URL;
  if (databaseUrl !== undefined) {
    try {
      optionsFromUrl(databaseUrl);
    } catch (err) {
      throw new ValidationError(
        values['database-url'] !== undefined ? '--database-url' : 'DATABASE_URL',
        errorMessage(err).replace(/^DATABASE_URL /, ''),
      );
    }
  }
  const memory = values['memory-gib'] as string | undefined;
  const memoryGiB = memory === undefined ? undefined : Number(memory);
  if (memoryGiB !== undefined && !(Number.isFinite(memoryGiB) && memoryGiB > 0)) {
    throw new ValidationError('--memory-gib', `must be a positive number of GiB (got "${memory}")`);
  }
  const instanceClass = values['instance-class'] as string | undefined;
  if (instanceClass !== undefined && memoryGiB === undefined && instanceClassMemoryGiB(instanceClass) === undefined) {
    throw new ValidationError(
      '--instance-class',
      `unknown instance class "${instanceClass}" (e.g. db.r7g.large or m7g.large; or pass --memory-gib)`,
    );
  }
  return {
    databaseUrl,
    json: values.json === true,
    help: values.help === true,
    ...(instanceClass ? { instanceClass } : {}),
    ...(memoryGiB !== undefined ? { memoryGiB } : {}),
  };
}

function describe(url: string): string {
  const o = optionsFromUrl(url);
  return `${o.host}:${o.port}/${o.database}`;
}

async function connect(url: string): Promise<Client> {
  const client = new Client(
    poolConfig(optionsFromUrl(url, { applicationName: 'crm-advisor', connectTimeoutMs: 5_000 })),
  );
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new DatabaseUnavailableError(
      `cannot connect to ${describe(url)}: ${errorMessage(err) || (err as { code?: string }).code}`,
      {
        cause: err,
      },
    );
  }
  return client;
}

export async function main(argv: readonly string[], io: CliIo = process): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv, io.env);
  } catch (err) {
    io.stderr.write(`advisor: ${errorMessage(err)} (see --help)\n`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let stop: (() => Promise<void>) | undefined;
  let client: Client | undefined;
  try {
    let url = args.databaseUrl;
    if (!url) {
      const local = await startLocalPostgres();
      url = local.url;
      stop = () => local.stop();
    }
    client = await connect(url);
    const report = await runAdvisor(client, { instanceClass: args.instanceClass, memoryGiB: args.memoryGiB });
    io.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
    return 0;
  } catch (err) {
    io.stderr.write(`advisor: ${errorMessage(err).split('\n')[0]}\n`);
    return 1;
  } finally {
    await client?.end().catch(() => {});
    await stop?.().catch(() => {});
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    // Explicit: embedded-postgres installs an exit hook that would otherwise end the process with 0.
    process.exit(code);
  });
}
