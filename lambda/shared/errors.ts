/**
 * Named errors shared by every function and CLI. Cores throw these; only the edge (a Lambda
 * handler, the HTTP app, a CLI) maps them to a status code, a CloudFormation FAILED reason or an
 * exit code. Messages are written for an operator: they say what is wrong and what to do.
 */
export class CrmError extends Error {
  /** Stable machine-readable code, e.g. `VALIDATION`, `NOT_FOUND`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad input. `field` names the offending field (dotted path for nested input). */
export class ValidationError extends CrmError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('VALIDATION', `${field}: ${message}`);
    this.field = field;
  }
}

/** Bad deployment configuration, detected at synth time or at cold start. */
export class ConfigError extends CrmError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('CONFIG', `config.${field}: ${message}`);
    this.field = field;
  }
}

export class NotFoundError extends CrmError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class ConflictError extends CrmError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** The database could not be reached or refused the connection. */
export class DatabaseUnavailableError extends CrmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DB_UNAVAILABLE', message, options);
  }
}

/** Returns the message of anything thrown, for logs and responses. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
