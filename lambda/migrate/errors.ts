/**
 * Errors of the migration runner. Each names the migration file it is about, so a failed
 * deployment or CLI run says which file to look at.
 */
import { CrmError } from '../shared/errors';

/** A migration file is malformed: bad name, numbering gap or duplicate, unknown directive. */
export class MigrationFileError extends CrmError {
  readonly file: string;
  constructor(file: string, message: string) {
    super('MIGRATION_FILE', `${file}: ${message}`);
    this.file = file;
  }
}

/**
 * The migration files disagree with the database's history: an applied file changed or
 * disappeared, or a pending file sorts before one already applied. Nothing was applied.
 */
export class MigrationIntegrityError extends CrmError {
  readonly file: string;
  constructor(file: string, message: string) {
    super('MIGRATION_INTEGRITY', `${file}: ${message}`);
    this.file = file;
  }
}

export interface MigrationErrorDetails {
  readonly file: string;
  readonly version: number;
  /** 1-based index of the failing statement in the file. */
  readonly statementIndex: number;
  /** 1-based line of the failing statement in the file. */
  readonly line: number;
  /** One-line excerpt of the failing statement. */
  readonly statement: string;
  /** PostgreSQL's error message. */
  readonly sqlMessage: string;
  /** PostgreSQL SQLSTATE, e.g. 55P03 (lock_not_available). */
  readonly sqlState?: string;
  /** Version the database is at after the failure (the last good migration). */
  readonly currentVersion: number;
  /** The file ran without a transaction: statements before the failing one stay committed. */
  readonly noTransaction?: boolean;
  /** What the runner did about the failure, or what is left to repair (appended to the message). */
  readonly note?: string;
}

/** A migration's SQL failed. Its transaction was rolled back; earlier migrations stay applied. */
export class MigrationError extends CrmError implements MigrationErrorDetails {
  readonly file: string;
  readonly version: number;
  readonly statementIndex: number;
  readonly line: number;
  readonly statement: string;
  readonly sqlMessage: string;
  readonly sqlState?: string;
  readonly currentVersion: number;
  readonly noTransaction: boolean;
  readonly note?: string;
  constructor(details: MigrationErrorDetails, options?: { cause?: unknown }) {
    const state = details.sqlState ? ` (SQLSTATE ${details.sqlState})` : '';
    super(
      'MIGRATION_FAILED',
      `${details.file} failed at statement ${details.statementIndex} (line ${details.line}): ` +
        `${details.sqlMessage}${state}. Statement: ${details.statement}. ` +
        `The database stays at version ${details.currentVersion}` +
        (details.noTransaction && details.statementIndex > 1
          ? ` (this file runs without a transaction: its statements before ${details.statementIndex} stay committed).`
          : '.') +
        (details.note ? ` ${details.note}` : ''),
      options,
    );
    this.file = details.file;
    this.version = details.version;
    this.statementIndex = details.statementIndex;
    this.line = details.line;
    this.statement = details.statement;
    this.sqlMessage = details.sqlMessage;
    this.sqlState = details.sqlState;
    this.currentVersion = details.currentVersion;
    this.noTransaction = details.noTransaction ?? false;
    this.note = details.note;
  }
}

/** Another runner held the migration advisory lock for longer than we were willing to wait. */
export class MigrationLockTimeoutError extends CrmError {
  constructor(waitedMs: number) {
    super(
      'MIGRATION_LOCK_TIMEOUT',
      `another migration runner held the migration lock for more than ${waitedMs} ms; ` +
        'retry when it has finished (see pg_stat_activity for its session)',
    );
  }
}

/**
 * A pending migration breaks a lint rule (see lint.ts and docs/migrations.md): nothing was applied.
 * Fix the file, or add `-- crm:allow <rule> <reason>` where the statement is safe.
 */
export class MigrationLintError extends CrmError {
  readonly findings: readonly { readonly file: string; readonly rule: string; readonly line: number }[];
  constructor(
    findings: readonly { readonly file: string; readonly rule: string; readonly line: number }[],
    report: string,
  ) {
    super(
      'MIGRATION_LINT',
      `${findings.length} lint finding${findings.length === 1 ? '' : 's'} in pending migrations; nothing was applied:\n${report}`,
    );
    this.findings = findings;
  }
}
