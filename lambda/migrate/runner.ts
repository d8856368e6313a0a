/**
 * The migration runner: applies pending migrations in order, one transaction each, under a
 * PostgreSQL advisory lock, and records them in crm_meta.schema_migrations.
 *
 * Safety properties:
 * - Refuses to run (naming the file) when an applied migration's file changed or disappeared, or
 *   a pending file sorts before an applied one. Numbering gaps and duplicates are refused when
 *   the files are loaded.
 * - Runners are serialised by a session-level advisory lock: a second runner polls for it with
 *   no transaction open (bounded by `advisoryLockWaitMs`), then finds nothing to do. Waiting in
 *   an open transaction would deadlock with the holder's CREATE INDEX CONCURRENTLY.
 * - Each migration runs in its own transaction with SET LOCAL lock_timeout / statement_timeout, so
 *   a migration waiting on a busy table fails fast instead of queueing traffic behind its lock.
 *   Its history row is written in the same transaction: history never disagrees with the schema.
 * - `-- crm:no-transaction` files run statement by statement outside a transaction (for
 *   CREATE INDEX CONCURRENTLY); the timeouts are then set for the session. Concurrent index
 *   builds run without lock_timeout (waiting, they block nobody); a failed one has its INVALID
 *   index dropped (or named in the error).
 * - After each migration the session is reset (RESET ALL, RESET ROLE, SET SESSION AUTHORIZATION
 *   DEFAULT), so one migration's SET never leaks into the next.
 * - Pending migrations are linted (lint.ts) before anything is locked or applied, in plan mode
 *   too: a finding fails the run with MigrationLintError. Applied migrations are not linted again
 *   (they are immutable; a rule added later must not block the deploys after them).
 * - Plan mode takes no lock and writes nothing.
 */
import type { PoolClient } from 'pg';
import { DatabaseUnavailableError } from '../shared/errors';
import { excerpt, splitStatements } from '../shared/sql/statements';
import { MigrationError, MigrationIntegrityError, MigrationLintError, MigrationLockTimeoutError } from './errors';
import { formatFindings, lintMigrations } from './lint';
import { loadMigrations, type Migration, pad, validateSequence } from './migrations';

/** Anything that hands out pg clients: a `pg.Pool` from `lambda/shared/db.ts` in practice. */
export interface MigrationPool {
  connect(): Promise<PoolClient>;
}

export interface RunMigrationsOptions {
  /** @default loadMigrations() (the files in MIGRATIONS_DIR) */
  readonly migrations?: readonly Migration[];
  /** List what would be applied; take no lock and write nothing. @default false */
  readonly plan?: boolean;
  /** SET LOCAL lock_timeout for each migration. @default 5_000 */
  readonly lockTimeoutMs?: number;
  /** SET LOCAL statement_timeout for each migration. @default 900_000 (15 min) */
  readonly statementTimeoutMs?: number;
  /** How long to wait for another runner's advisory lock. @default 120_000 */
  readonly advisoryLockWaitMs?: number;
  /** Interval between attempts to take another runner's advisory lock. @default 500 */
  readonly advisoryLockPollMs?: number;
  /** Recorded in schema_migrations.applied_by. @default the database session user */
  readonly appliedBy?: string;
  /** Connection attempts before giving up with DatabaseUnavailableError. @default 1 */
  readonly connectAttempts?: number;
  /** Delay before the 2nd attempt; doubles for each further attempt. @default 2_000 */
  readonly connectRetryDelayMs?: number;
  /** Names the database in connection errors, e.g. `crm at db.example.com:5432`. @default 'the database' */
  readonly target?: string;
  /** Lint pending migrations first and refuse to run on a finding. @default true */
  readonly lint?: boolean;
  /** Called as each migration starts and finishes, for logs and CLI output. */
  readonly onProgress?: (event: MigrationProgressEvent) => void;
}

export type MigrationProgressEvent =
  | { readonly type: 'applying'; readonly version: number; readonly name: string; readonly file: string }
  | ({ readonly type: 'applied' } & AppliedMigration);

export interface MigrationSummary {
  readonly version: number;
  readonly name: string;
  readonly file: string;
}

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly durationMs: number;
}

/** A failed attempt of a no-transaction migration that is still pending (see docs/migrations.md, "Repair"). */
export interface FailedAttempt {
  readonly version: number;
  readonly file: string;
  readonly failedAt: Date;
  /** 1-based statement that failed, and its line. */
  readonly statementIndex: number;
  readonly line: number;
  /** Statements of the file that had committed before the failure. */
  readonly committedStatements: number;
  readonly sqlState?: string;
  readonly message: string;
}

export interface MigrationRunResult {
  readonly plan: boolean;
  /** Unresolved failed attempts of pending no-transaction migrations (after a run: none left for what it applied). */
  readonly failedAttempts: readonly FailedAttempt[];
  /** Migrations applied by this run, in order (empty in plan mode). */
  readonly applied: readonly AppliedMigration[];
  /** Migrations not applied: in plan mode, what a run would apply; after a run, empty. */
  readonly pending: readonly MigrationSummary[];
  /** Highest applied version before this run (0 for an empty database). */
  readonly previousVersion: number;
  /** Highest applied version after this run. */
  readonly currentVersion: number;
  /** Highest version among the migration files. */
  readonly latestVersion: number;
}

/** Key of the advisory lock that serialises runners (per database). Arbitrary, unique to this project. */
export const MIGRATION_LOCK_KEY = 7_346_273_101;

export const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 15 * 60_000;
export const DEFAULT_ADVISORY_LOCK_WAIT_MS = 120_000;
export const DEFAULT_ADVISORY_LOCK_POLL_MS = 500;

const HISTORY_DDL = `
CREATE SCHEMA IF NOT EXISTS crm_meta;
COMMENT ON SCHEMA crm_meta IS 'Platform metadata: the migration history.';
CREATE TABLE IF NOT EXISTS crm_meta.schema_migrations (
  version      integer PRIMARY KEY CHECK (version > 0),
  name         text NOT NULL,
  checksum     text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
  applied_at   timestamptz NOT NULL DEFAULT now(),
  duration_ms  integer NOT NULL CHECK (duration_ms >= 0),
  applied_by   text NOT NULL
);
COMMENT ON TABLE crm_meta.schema_migrations IS 'One row per applied migration, written by the migration runner only.';
CREATE TABLE IF NOT EXISTS crm_meta.schema_migration_failures (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version               integer NOT NULL CHECK (version > 0),
  name                  text NOT NULL,
  checksum              text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
  failed_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
  statement_index       integer NOT NULL CHECK (statement_index >= 1),
  line                  integer NOT NULL CHECK (line >= 1),
  committed_statements  integer NOT NULL CHECK (committed_statements >= 0),
  sql_state             text,
  message               text NOT NULL,
  failed_by             text NOT NULL,
  resolved_at           timestamptz
);
COMMENT ON TABLE crm_meta.schema_migration_failures IS
  'Failed attempts of -- crm:no-transaction migrations (their earlier statements stay committed); resolved_at is set when the version is applied. Written by the migration runner only.';
`;

/** Unresolved failed attempts of migrations that are still pending. */
const OPEN_FAILURES = `
SELECT version, name, failed_at, statement_index, line, committed_statements, sql_state, message
FROM crm_meta.schema_migration_failures
WHERE resolved_at IS NULL
ORDER BY version, failed_at`;

/**
 * Statements that build an index CONCURRENTLY. They take SHARE UPDATE EXCLUSIVE, which no read
 * or write conflicts with, and then wait for older transactions to finish: while they wait they
 * block nobody, so they run without lock_timeout (statement_timeout still bounds them).
 */
const CONCURRENT_INDEX_BUILD = /^\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY|REINDEX\b[^;]*\bCONCURRENTLY)\b/i;

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*)`;
/** `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS name ON [ONLY] [schema.]table`. */
const CIC_IF_NOT_EXISTS = new RegExp(
  String.raw`^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(${IDENT})\s+ON\s+(?:ONLY\s+)?(${IDENT}(?:\s*\.\s*${IDENT})?)`,
  'i',
);

/** The relation name an identifier denotes: unquoted names fold to lower case. */
function identName(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident.toLowerCase();
}

/** Every index in the database, so a failed build can tell the index it created itself. */
const ALL_INDEX_OIDS = 'SELECT indexrelid::int8::text AS oid FROM pg_catalog.pg_index';

/** INVALID indexes that no other session is building right now (pg_stat_progress_create_index). */
const INVALID_INDEXES = `
SELECT i.indexrelid::int8::text AS oid, format('%I.%I', n.nspname, c.relname) AS name
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p
                  WHERE p.index_relid = i.indexrelid AND p.pid <> pg_backend_pid())
ORDER BY 2`;

/** The index `name` of `table` (as written in the statement), if there is one. */
const NAMED_INDEX = `
SELECT i.indisvalid AS valid, format('%I.%I', n.nspname, c.relname) AS name
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = to_regclass($1) AND c.relname = $2`;

interface HistoryRow {
  version: number;
  name: string;
  checksum: string;
  applied_at: Date;
}

interface PgError {
  message: string;
  code?: string;
}

function pgError(err: unknown): PgError {
  const e = err as { message?: unknown; code?: unknown };
  return {
    message: typeof e?.message === 'string' ? e.message : String(err),
    code: typeof e?.code === 'string' ? e.code : undefined,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Failures that another attempt cannot fix: certificate problems, pg_hba rejection, no such database. */
function isPermanentConnectError(err: unknown): boolean {
  const { code, message } = pgError(err);
  if (code === '28000' || code === '3D000') return true;
  return /certificate|self[- ]signed|CERT_|ERR_TLS|does not support SSL/i.test(`${code ?? ''} ${message}`);
}

/** pool.connect() with bounded retries; throws DatabaseUnavailableError naming the target. */
export async function connectWithRetry(
  pool: MigrationPool,
  opts: { attempts?: number; retryDelayMs?: number; target?: string } = {},
): Promise<PoolClient> {
  const attempts = Math.max(1, opts.attempts ?? 1);
  const target = opts.target ?? 'the database';
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await pool.connect();
    } catch (err) {
      lastError = err;
      if (isPermanentConnectError(err) || attempt === attempts) break;
      await sleep((opts.retryDelayMs ?? 2_000) * 2 ** (attempt - 1));
    }
  }
  const { code, message } = pgError(lastError);
  throw new DatabaseUnavailableError(
    `could not connect to ${target} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ` +
      `${message}${code && !message.includes(code) ? ` (${code})` : ''}. ` +
      'Check that the database is running and reachable (security group, subnet routes, port) and that the credentials are current.',
    { cause: lastError },
  );
}

async function historyExists(client: PoolClient): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean }>(
    "SELECT to_regclass('crm_meta.schema_migrations') IS NOT NULL AS exists",
  );
  return rows[0].exists;
}

async function readHistory(client: PoolClient): Promise<HistoryRow[]> {
  if (!(await historyExists(client))) return [];
  const { rows } = await client.query<HistoryRow>(
    'SELECT version, name, checksum, applied_at FROM crm_meta.schema_migrations ORDER BY version',
  );
  return rows;
}

/** Checks the files against the history; returns the pending migrations in order. */
export function verifyAgainstHistory(
  migrations: readonly Migration[],
  history: readonly Pick<HistoryRow, 'version' | 'name' | 'checksum'>[],
): Migration[] {
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  for (const row of history) {
    const file = byVersion.get(row.version);
    if (!file) {
      throw new MigrationIntegrityError(
        `${pad(row.version)}_${row.name}.sql`,
        'was applied to this database but its file is missing. Released migrations are never deleted: restore the file.',
      );
    }
    if (file.name !== row.name) {
      throw new MigrationIntegrityError(
        file.file,
        `version ${pad(row.version)} was applied as '${row.name}' but the file is now named ${file.file}. ` +
          'Released migrations are never renamed: restore the original name.',
      );
    }
    if (file.checksum !== row.checksum) {
      throw new MigrationIntegrityError(
        file.file,
        `changed after it was applied (sha256 applied ${row.checksum.slice(0, 12)}…, file now ${file.checksum.slice(0, 12)}…). ` +
          'Released migrations are immutable: revert the edit and put the change in a new migration.',
      );
    }
  }
  const applied = new Set(history.map((row) => row.version));
  const maxApplied = Math.max(0, ...applied);
  const pending = migrations.filter((m) => !applied.has(m.version));
  const outOfOrder = pending.find((m) => m.version < maxApplied);
  if (outOfOrder) {
    throw new MigrationIntegrityError(
      outOfOrder.file,
      `is not applied but a later version (${pad(maxApplied)}) is. Migrations apply in order: give this change the next free number.`,
    );
  }
  return pending;
}

/** Applies (or, with `plan`, lists) pending migrations. See the module comment for the guarantees. */
export async function runMigrations(
  pool: MigrationPool,
  options: RunMigrationsOptions = {},
): Promise<MigrationRunResult> {
  const migrations = validateSequence(options.migrations ?? loadMigrations());
  const latestVersion = migrations.at(-1)?.version ?? 0;
  const plan = options.plan ?? false;
  const client = await connectWithRetry(pool, {
    attempts: options.connectAttempts,
    retryDelayMs: options.connectRetryDelayMs,
    target: options.target,
  });
  let failure: Error | undefined;
  try {
    if (plan) {
      const history = await readHistory(client);
      const pending = verifyAgainstHistory(migrations, history);
      if (options.lint ?? true) refuseLintFindings(pending);
      const version = Math.max(0, ...history.map((row) => row.version));
      return {
        plan,
        failedAttempts: await readFailedAttempts(client),
        applied: [],
        pending: pending.map(summary),
        previousVersion: version,
        currentVersion: version,
        latestVersion,
      };
    }
    if (options.lint ?? true) {
      // Checked before the lock (a refused run blocks nobody) and again under it, where the
      // pending list is final.
      refuseLintFindings(verifyAgainstHistory(migrations, await readHistory(client)));
    }
    await acquireLock(
      client,
      options.advisoryLockWaitMs ?? DEFAULT_ADVISORY_LOCK_WAIT_MS,
      options.advisoryLockPollMs ?? DEFAULT_ADVISORY_LOCK_POLL_MS,
    );
    await client.query(HISTORY_DDL);
    const history = await readHistory(client);
    const pending = verifyAgainstHistory(migrations, history);
    if (options.lint ?? true) refuseLintFindings(pending);
    const previousVersion = Math.max(0, ...history.map((row) => row.version));
    const appliedBy = options.appliedBy ?? (await client.query<{ u: string }>('SELECT session_user AS u')).rows[0].u;
    const applied: AppliedMigration[] = [];
    let currentVersion = previousVersion;
    for (const migration of pending) {
      options.onProgress?.({
        type: 'applying',
        version: migration.version,
        name: migration.name,
        file: migration.file,
      });
      const result = await applyOne(client, migration, {
        lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
        statementTimeoutMs: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
        appliedBy,
        currentVersion,
      });
      applied.push(result);
      currentVersion = migration.version;
      options.onProgress?.({ type: 'applied', ...result });
    }
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    return {
      plan,
      failedAttempts: await readFailedAttempts(client),
      applied,
      pending: [],
      previousVersion,
      currentVersion,
      latestVersion,
    };
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // On failure the connection is destroyed rather than returned: that also ends the session's
    // advisory lock and any half-finished session settings.
    client.release(failure ?? false);
  }
}

/** Throws MigrationLintError when a pending migration breaks a lint rule. */
function refuseLintFindings(pending: readonly Migration[]): void {
  const findings = lintMigrations(pending);
  if (findings.length > 0) throw new MigrationLintError(findings, formatFindings(findings));
}

async function readFailedAttempts(client: PoolClient): Promise<FailedAttempt[]> {
  const exists = await client.query<{ t: string | null }>(
    "SELECT to_regclass('crm_meta.schema_migration_failures')::text AS t",
  );
  if (!exists.rows[0].t) return [];
  const { rows } = await client.query<{
    version: number;
    name: string;
    failed_at: Date;
    statement_index: number;
    line: number;
    committed_statements: number;
    sql_state: string | null;
    message: string;
  }>(OPEN_FAILURES);
  return rows.map((r) => ({
    version: r.version,
    file: `${pad(r.version)}_${r.name}.sql`,
    failedAt: r.failed_at,
    statementIndex: r.statement_index,
    line: r.line,
    committedStatements: r.committed_statements,
    sqlState: r.sql_state ?? undefined,
    message: r.message,
  }));
}

function summary(m: Migration): MigrationSummary {
  return { version: m.version, name: m.name, file: m.file };
}

/**
 * Takes the session-level migration lock, polling `pg_try_advisory_lock` with no transaction open
 * between polls (Flyway's approach). A runner blocked in `pg_advisory_lock` would sit in an open
 * transaction with a snapshot, and the lock holder's CREATE INDEX CONCURRENTLY waits for every
 * such transaction to end: the two wait for each other and PostgreSQL reports a deadlock. Each
 * poll here is one short autocommit statement, so a concurrent index build waits for a moment at
 * most.
 */
async function acquireLock(client: PoolClient, waitMs: number, pollMs: number): Promise<void> {
  const deadline = performance.now() + waitMs;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      MIGRATION_LOCK_KEY,
    ]);
    if (rows[0].locked) return;
    const left = deadline - performance.now();
    if (left <= 0) throw new MigrationLockTimeoutError(waitMs);
    await sleep(Math.min(pollMs, left));
  }
}

interface ApplyContext {
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly appliedBy: string;
  readonly currentVersion: number;
}

async function applyOne(client: PoolClient, migration: Migration, ctx: ApplyContext): Promise<AppliedMigration> {
  const statements = splitStatements(migration.sql);
  const timeouts = [`${ctx.lockTimeoutMs}ms`, `${ctx.statementTimeoutMs}ms`];
  const fail = (index: number, err: unknown, note?: string): MigrationError => {
    const { message, code } = pgError(err);
    const statement = statements[index] ?? { text: 'COMMIT', line: statements.at(-1)?.line ?? 1 };
    return new MigrationError(
      {
        file: migration.file,
        version: migration.version,
        statementIndex: index + 1,
        line: statement.line,
        statement: excerpt(statement.text),
        sqlMessage: message,
        sqlState: code,
        currentVersion: ctx.currentVersion,
        noTransaction: migration.noTransaction,
        note,
      },
      { cause: err },
    );
  };
  const record = (durationMs: number) =>
    client.query(
      `INSERT INTO crm_meta.schema_migrations (version, name, checksum, applied_at, duration_ms, applied_by)
       VALUES ($1, $2, $3, clock_timestamp(), $4, $5)`,
      [migration.version, migration.name, migration.checksum, durationMs, ctx.appliedBy],
    );
  const started = performance.now();

  if (migration.noTransaction) {
    // Outside a transaction SET LOCAL has no effect, so the timeouts are set for the session and
    // reset below; on failure the connection is discarded with its settings.
    const setTimeouts = (lockTimeout: string) =>
      client.query("SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)", [
        lockTimeout,
        timeouts[1],
      ]);
    for (const [index, statement] of statements.entries()) {
      const concurrentBuild = CONCURRENT_INDEX_BUILD.test(statement.masked);
      await setTimeouts(concurrentBuild ? '0' : timeouts[0]);
      const before = concurrentBuild ? await indexOids(client) : undefined;
      try {
        await client.query(statement.text);
      } catch (err) {
        const note = before ? await dropLeftoverIndexes(client, before, timeouts) : undefined;
        throw await recordFailure(client, migration, index, fail(index, err, note), ctx.appliedBy);
      }
      const skipped = await skippedInvalidIndex(client, statement.masked);
      if (skipped) throw await recordFailure(client, migration, index, fail(index, new Error(skipped)), ctx.appliedBy);
    }
    await resetSession(client);
    const durationMs = Math.round(performance.now() - started);
    // The history row and the resolution of earlier failed attempts commit together.
    await client.query('BEGIN');
    await record(durationMs);
    await client.query(
      'UPDATE crm_meta.schema_migration_failures SET resolved_at = clock_timestamp() WHERE version = $1 AND resolved_at IS NULL',
      [migration.version],
    );
    await client.query('COMMIT');
    return { version: migration.version, name: migration.name, durationMs };
  }

  await client.query('BEGIN');
  let index = 0;
  try {
    await client.query(
      "SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)",
      timeouts,
    );
    for (; index < statements.length; index++) {
      await client.query(statements[index].text);
    }
    // Inside the transaction, so the reset commits with the migration (and the history row is
    // written as the runner's own user even if the file ran SET ROLE).
    await resetSession(client);
    const durationMs = Math.round(performance.now() - started);
    await record(durationMs);
    await client.query('COMMIT');
    return { version: migration.version, name: migration.name, durationMs };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (index >= statements.length) {
      // The history insert or COMMIT failed (e.g. a deferred constraint); the statements rolled back.
      throw fail(statements.length, err);
    }
    throw fail(index, err);
  }
}

/**
 * Records a failed attempt of a no-transaction migration (its statements before `index` stay
 * committed), so `--plan` and the repair runbook can show what happened. Returns the error to
 * throw; if even the record fails (the connection is gone), the error says so.
 */
async function recordFailure(
  client: PoolClient,
  migration: Migration,
  index: number,
  error: MigrationError,
  failedBy: string,
): Promise<MigrationError> {
  try {
    await client.query(
      `INSERT INTO crm_meta.schema_migration_failures
         (version, name, checksum, statement_index, line, committed_statements, sql_state, message, failed_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        migration.version,
        migration.name,
        migration.checksum,
        index + 1,
        error.line,
        index,
        error.sqlState ?? null,
        error.message,
        failedBy,
      ],
    );
    return error;
  } catch (err) {
    return new MigrationError(
      {
        ...error,
        note: [
          error.note,
          `The failed attempt could not be recorded in crm_meta.schema_migration_failures (${pgError(err).message}).`,
        ]
          .filter(Boolean)
          .join(' '),
      },
      { cause: error.cause },
    );
  }
}

/**
 * Returns the session to its defaults: a non-LOCAL SET in one migration (search_path, ROLE,
 * default_transaction_read_only, ...) must not change how the next one runs, nor the pooled
 * connection the runner hands back. RESET ALL leaves ROLE and SESSION AUTHORIZATION alone, hence
 * the other two. (DISCARD ALL would also release the migration lock.)
 */
async function resetSession(client: PoolClient): Promise<void> {
  await client.query('RESET ALL; RESET ROLE; SET SESSION AUTHORIZATION DEFAULT');
}

async function indexOids(client: PoolClient): Promise<Set<string>> {
  const { rows } = await client.query<{ oid: string }>(ALL_INDEX_OIDS);
  return new Set(rows.map((r) => r.oid));
}

/**
 * After a failed concurrent build: drops the INVALID index(es) the statement itself created
 * (they did not exist before it and no other session is building them) and returns a sentence
 * for the error message, naming what was dropped or what is left to repair.
 */
async function dropLeftoverIndexes(
  client: PoolClient,
  before: ReadonlySet<string>,
  timeouts: readonly string[],
): Promise<string | undefined> {
  let leftovers: string[];
  try {
    const { rows } = await client.query<{ oid: string; name: string }>(INVALID_INDEXES);
    leftovers = rows.filter((r) => !before.has(r.oid)).map((r) => r.name);
  } catch {
    return 'The runner could not check for an INVALID index this statement may have left: look for pg_index.indisvalid = false and DROP INDEX CONCURRENTLY it.';
  }
  if (leftovers.length === 0) return undefined;
  const dropped: string[] = [];
  const kept: string[] = [];
  for (const name of leftovers) {
    try {
      // Bounded like any other statement: the drop also waits for older transactions.
      await client.query("SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)", [
        ...timeouts,
      ]);
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
      dropped.push(name);
    } catch (err) {
      kept.push(`${name} (${pgError(err).message})`);
    }
  }
  return [
    dropped.length > 0 ? `The runner dropped the INVALID index ${dropped.join(', ')} this statement had left.` : '',
    kept.length > 0
      ? `This statement left the INVALID index ${kept.join(', ')}, which the runner could not drop: run DROP INDEX CONCURRENTLY on it before retrying.`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * CREATE INDEX CONCURRENTLY IF NOT EXISTS skips an index of that name even when it is INVALID
 * (left by an interrupted build), so "success" can hide a broken index. Returns the reason to
 * refuse the migration, or undefined. Only the index the statement names is checked.
 */
async function skippedInvalidIndex(client: PoolClient, masked: string): Promise<string | undefined> {
  const m = CIC_IF_NOT_EXISTS.exec(masked);
  if (!m) return undefined;
  const [, index, table] = m;
  const { rows } = await client.query<{ valid: boolean; name: string }>(NAMED_INDEX, [table, identName(index)]);
  if (rows.length === 0) {
    return `IF NOT EXISTS skipped ${index}: a relation of that name already exists in the schema of ${table} and is not an index of it`;
  }
  if (rows[0].valid) return undefined;
  return (
    `IF NOT EXISTS skipped ${rows[0].name}: an INVALID index of that name already exists (an earlier build of it was interrupted). ` +
    `Run DROP INDEX CONCURRENTLY ${rows[0].name} (or REINDEX INDEX CONCURRENTLY ${rows[0].name}) and run the migration again`
  );
}
