/**
 * Named errors shared by every function and CLI. Cores throw these; only the edge (a Lambda
 * handler, the HTTP app, a CLI) maps them to a status code, a CloudFormation FAILED reason or an
 * exit code. Messages are written for an operator: they say what is wrong and what to do.
 */
import { ErrorNames } from '../../contracts/errors';

export class CrmError extends Error {
  /** Stable machine-readable code, e.g. `VALIDATION`, `NOT_FOUND`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // A literal name, never `new.target.name`: bundles are minified, and the name is the errorType
    // Step Functions retries and catches on. Subclasses set theirs from contracts/errors.ts; the
    // fallback keeps subclasses elsewhere readable (CrmFunction bundles with keepNames).
    this.name = new.target === CrmError ? ErrorNames.Crm : new.target.name;
    this.code = code;
  }
}

/** Bad input. `field` names the offending field (dotted path for nested input). */
export class ValidationError extends CrmError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('VALIDATION', `${field}: ${message}`);
    this.name = ErrorNames.Validation;
    this.field = field;
  }
}

/** Bad deployment configuration, detected at synth time or at cold start. */
export class ConfigError extends CrmError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('CONFIG', `config.${field}: ${message}`);
    this.name = ErrorNames.Config;
    this.field = field;
  }
}

export class NotFoundError extends CrmError {
  constructor(message: string) {
    super('NOT_FOUND', message);
    this.name = ErrorNames.NotFound;
  }
}

export class ConflictError extends CrmError {
  constructor(message: string) {
    super('CONFLICT', message);
    this.name = ErrorNames.Conflict;
  }
}

/** The database could not be reached or refused the connection. */
export class DatabaseUnavailableError extends CrmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DB_UNAVAILABLE', message, options);
    this.name = ErrorNames.DatabaseUnavailable;
  }
}

/** Returns the message of anything thrown, for logs and responses. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
