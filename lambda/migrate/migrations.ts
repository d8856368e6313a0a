/**
 * Migration files: `NNNN_snake_case.sql` in `migrations/`, applied in version order, roll
 * forward only, never edited once released.
 *
 * The Lambda bundle gets the SQL files copied next to the bundle into `migrations/`, so
 * `MIGRATIONS_DIR` is right both in the source tree and in the bundle.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { maskSql, type SqlStatement, splitStatements } from '../shared/sql/statements';
import { parseDirectives } from './directives';
import { MigrationFileError } from './errors';

export interface Migration {
  readonly version: number;
  /** The snake_case part of the file name, e.g. `crm_tables`. */
  readonly name: string;
  /** The file name, e.g. `0002_crm_tables.sql`. */
  readonly file: string;
  readonly sql: string;
  /** sha256 hex of the file's bytes with CRLF line endings read as LF. */
  readonly checksum: string;
  /** The file carries `-- crm:no-transaction`. */
  readonly noTransaction: boolean;
}

export const MIGRATIONS_DIR = join(__dirname, 'migrations');

const FILE_NAME = /^(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$/;
const TRANSACTION_CONTROL =
  /^(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|ABORT|SAVEPOINT|RELEASE|PREPARE\s+TRANSACTION)\b/i;

/**
 * The bytes with every CRLF replaced by LF, byte for byte (latin1 maps bytes to characters 1:1, so
 * nothing else changes even in a file that is not UTF-8). An LF-only file is returned unchanged.
 */
export function normaliseLineEndings(bytes: Buffer | string): Buffer {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  return buf.includes(13) ? Buffer.from(buf.toString('latin1').replace(/\r\n/g, '\n'), 'latin1') : buf;
}

/**
 * sha256 hex of a file's bytes, read with LF line endings: a checkout with CRLF (Windows, git
 * autocrlf) has the same checksum as the LF file, and an LF-only file hashes exactly as before
 * (the checksum existing histories recorded).
 */
export function checksumOf(bytes: Buffer | string): string {
  return createHash('sha256').update(normaliseLineEndings(bytes)).digest('hex');
}

/** Builds a Migration from a file name and its bytes, validating name, directives and content. */
export function parseMigration(file: string, bytes: Buffer | string): Migration {
  const m = FILE_NAME.exec(file);
  if (!m) {
    throw new MigrationFileError(
      file,
      'migration file names must be NNNN_snake_case.sql (four digits, underscore, lower-case words joined by underscores)',
    );
  }
  const version = Number(m[1]);
  if (version === 0) throw new MigrationFileError(file, 'versions start at 0001');
  const normalised = normaliseLineEndings(bytes);
  const sql = normalised.toString();
  const { noTransaction } = parseDirectives(file, sql);
  const statements = splitStatements(sql);
  if (statements.length === 0) throw new MigrationFileError(file, 'contains no SQL statements');
  refuseUnrunnable(file, sql, statements);
  if (!noTransaction) {
    const control = statements.find((s) => TRANSACTION_CONTROL.test(s.masked));
    if (control) {
      throw new MigrationFileError(
        file,
        `line ${control.line}: transaction control ('${control.text.split(/\s/)[0]}') is not allowed; ` +
          'the runner wraps each migration in a transaction (use -- crm:no-transaction to run without one)',
      );
    }
  }
  return { version, name: m[2], file, sql, checksum: checksumOf(normalised), noTransaction };
}

const COPY_FROM_STDIN = /^\s*COPY\b[^;]*\bFROM\s+STDIN\b/i;
const QUOTED_IDENTIFIER = /"(?:[^"]|"")*"?/g;

/**
 * Refuses what only psql can run: the runner sends SQL to the server over the protocol, so a
 * psql meta-command (`\connect`, `\i`, `\set`, `\gset`, ...) would be a syntax error (or worse,
 * its target silently not applied) and `COPY ... FROM STDIN` has no data stream. Names the first
 * offending line. A backslash is never SQL outside literals and quoted identifiers, so any
 * backslash left in the masked code is a meta-command.
 */
function refuseUnrunnable(file: string, sql: string, statements: readonly SqlStatement[]): void {
  const copy = statements.find((s) => COPY_FROM_STDIN.test(s.masked));
  const lines = maskSql(sql).split('\n');
  const metaIndex = lines.findIndex((text) => text.replace(QUOTED_IDENTIFIER, '').includes('\\'));
  const metaLine = metaIndex === -1 ? Number.POSITIVE_INFINITY : metaIndex + 1;
  if (copy && copy.line <= metaLine) {
    throw new MigrationFileError(
      file,
      `line ${copy.line}: COPY ... FROM STDIN cannot run: the runner is not psql and sends no data stream. ` +
        'Put the rows in INSERT statements (or INSERT ... SELECT)',
    );
  }
  if (metaIndex !== -1) {
    const masked = lines[metaIndex].replace(QUOTED_IDENTIFIER, (q) => ' '.repeat(q.length));
    const at = masked.indexOf('\\');
    const command = /^\\[^\s\\]*/.exec(masked.slice(at))?.[0] ?? '\\';
    throw new MigrationFileError(
      file,
      `line ${metaLine}: psql meta-command '${command}' cannot run: the runner sends SQL to the server, not through psql. ` +
        'Write plain SQL (one database per migration run; no includes or variables)',
    );
  }
}

/**
 * Refuses migration lists whose versions have a duplicate or a gap (versions must be 1, 2, 3, ...).
 * Returns the list sorted by version.
 */
export function validateSequence(migrations: readonly Migration[]): Migration[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version || a.file.localeCompare(b.file));
  sorted.forEach((migration, index) => {
    const previous = sorted[index - 1];
    if (previous && previous.version === migration.version) {
      throw new MigrationFileError(
        migration.file,
        `duplicate version ${pad(migration.version)}: ${previous.file} has the same number (renumber the newer one)`,
      );
    }
    const expected = index + 1;
    if (migration.version !== expected) {
      throw new MigrationFileError(
        migration.file,
        `numbering gap: version ${pad(expected)} is missing ` +
          `(${previous ? `previous file is ${previous.file}` : 'versions start at 0001'}); versions must be consecutive`,
      );
    }
  });
  return sorted;
}

/** Reads, validates and orders the migration files of `dir`. Files not ending in .sql are ignored. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  if (!existsSync(dir)) throw new MigrationFileError(dir, 'migrations directory not found');
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.toLowerCase().endsWith('.sql'))
    .map((entry) => entry.name)
    .sort();
  return validateSequence(files.map((file) => parseMigration(file, readFileSync(join(dir, file)))));
}

/**
 * A hash of every migration's file name and checksum, in version order. CDK puts it in the
 * custom resource's properties at synth time, so the resource updates (and the runner runs)
 * exactly when a migration file is added or changed.
 */
export function migrationsHash(migrations: readonly Migration[]): string {
  const lines = [...migrations].sort((a, b) => a.version - b.version).map((m) => `${m.file} ${m.checksum}\n`);
  return createHash('sha256').update(lines.join('')).digest('hex');
}

export function pad(version: number): string {
  return String(version).padStart(4, '0');
}
