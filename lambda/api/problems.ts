/**
 * HTTP problems (RFC 9457 / RFC 7807 `application/problem+json`) and the ONE mapper from anything
 * thrown inside the API to a problem response. Cores throw the named errors from
 * lambda/shared/errors.ts or the `HttpProblem`s below; pg errors are translated here by SQLSTATE,
 * so no SQL text and no stack ever reaches a client.
 */
import { ConflictError, CrmError, DatabaseUnavailableError, NotFoundError, ValidationError } from '../shared/errors';

export interface FieldError {
  /** Dotted path of the offending field (`email`, `stages.2.name`); `body` for the whole body. */
  readonly field: string;
  readonly message: string;
}

export interface ProblemExtras {
  /** Per-field errors (422). */
  readonly errors?: readonly FieldError[];
  /** Id of the record a 409 conflicts with. */
  readonly existingId?: string;
  /** Seconds a client should wait before retrying (503). */
  readonly retryAfter?: number;
  /** The methods the path does answer (405), for the `Allow` header. */
  readonly allow?: readonly string[];
}

/** An error that already knows its HTTP status. Thrown by the API layer, mapped by `toProblem`. */
export class HttpProblem extends CrmError {
  readonly status: number;
  readonly title: string;
  readonly extras: ProblemExtras;
  constructor(status: number, code: string, title: string, detail: string, extras: ProblemExtras = {}) {
    super(code, detail);
    this.status = status;
    this.title = title;
    this.extras = extras;
  }
}

export const badRequest = (detail: string) => new HttpProblem(400, 'BAD_REQUEST', 'Bad Request', detail);
export const unauthorized = () =>
  new HttpProblem(401, 'UNAUTHENTICATED', 'Unauthorized', 'A valid bearer token is required.');
export const forbidden = (detail: string) => new HttpProblem(403, 'FORBIDDEN', 'Forbidden', detail);
export const notFound = (detail = 'No such resource.') => new HttpProblem(404, 'NOT_FOUND', 'Not Found', detail);
export const conflict = (detail: string, existingId?: string) =>
  new HttpProblem(409, 'CONFLICT', 'Conflict', detail, existingId ? { existingId } : {});
export const preconditionFailed = () =>
  new HttpProblem(
    412,
    'STALE_VERSION',
    'Precondition Failed',
    'The record has changed since you read it (If-Match does not match the current ETag). Fetch it again and retry.',
  );
export const preconditionRequired = () =>
  new HttpProblem(
    428,
    'IF_MATCH_REQUIRED',
    'Precondition Required',
    'This request must carry an If-Match header with the ETag of the record.',
  );
export const methodNotAllowed = (method: string, allow: readonly string[]) =>
  new HttpProblem(
    405,
    'METHOD_NOT_ALLOWED',
    'Method Not Allowed',
    `${method} is not allowed on this path; it answers ${allow.join(', ')}.`,
    { allow },
  );
export const payloadTooLarge = (maxBytes: number) =>
  new HttpProblem(413, 'PAYLOAD_TOO_LARGE', 'Payload Too Large', `The request body exceeds ${maxBytes} bytes.`);
export const unsupportedMediaType = () =>
  new HttpProblem(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    'Unsupported Media Type',
    'The request body must be application/json.',
  );
export const unprocessable = (errors: readonly FieldError[], detail = 'The request has invalid fields.') =>
  new HttpProblem(422, 'VALIDATION', 'Unprocessable Content', detail, { errors });
export const serviceUnavailable = (detail: string) =>
  new HttpProblem(503, 'UNAVAILABLE', 'Service Unavailable', detail, { retryAfter: 1 });

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  readonly requestId: string;
  readonly code: string;
  readonly errors?: readonly FieldError[];
  readonly existingId?: string;
}

export interface MappedProblem {
  readonly problem: Problem;
  /** True when the error was not an expected one: log it with its stack (never send it). */
  readonly unexpected: boolean;
  readonly retryAfter?: number;
  /** For the `Allow` header of a 405. */
  readonly allow?: readonly string[];
}

/** SQLSTATEs a client can cause or a retry can fix; everything else is a 500. */
function fromPgError(err: { code: string; constraint?: string; column?: string }): HttpProblem | undefined {
  const known = err.constraint ? CONSTRAINT_ERRORS[err.constraint] : undefined;
  if (known && (err.code === '23514' || err.code === '23503')) return unprocessable([known]);
  switch (err.code) {
    case '23505':
      return conflict('The request conflicts with an existing record.');
    case '23503':
      return unprocessable(
        [{ field: fieldFromConstraint(err.constraint), message: 'refers to a record that does not exist' }],
        'The request refers to a record that does not exist.',
      );
    case '23502':
    case '23514':
    case '22001':
    case '22003':
    case '22007':
    case '22008':
    case '22009':
    case '22021':
    case '22P02':
    case '22P05':
      return unprocessable(
        [{ field: err.column ?? fieldFromConstraint(err.constraint), message: 'is not acceptable' }],
        'A value in the request is not acceptable.',
      );
    case '57014': // statement_timeout
    case '55P03': // lock_not_available
    case '40001': // serialization_failure
    case '40P01': // deadlock_detected
    case '53300': // too_many_connections
    case '57P01': // admin_shutdown (failover)
      return serviceUnavailable('The database is busy. Retry the request.');
    default:
      if (err.code.startsWith('08')) return serviceUnavailable('The database is unavailable. Retry the request.');
      return undefined;
  }
}

/** Cross-field CHECKs of the schema (lambda/migrate/migrations) that a PATCH can violate. */
const CONSTRAINT_ERRORS: Record<string, FieldError> = {
  companies_revenue_has_currency: {
    field: 'annualRevenueCurrency',
    message: 'is required when annualRevenueMinor is set',
  },
  deals_amount_has_currency: { field: 'currency', message: 'is required when amountMinor is set' },
  deals_stage_in_pipeline: { field: 'stageId', message: 'must be a stage of the deal’s pipeline' },
  contacts_has_name: { field: 'firstName', message: 'firstName or lastName is required' },
  contacts_consent_recorded: {
    field: 'consentRecordedAt',
    message: 'is required when marketingConsent is not unknown',
  },
  contacts_consent_basis: { field: 'lawfulBasis', message: 'consent requires marketingConsent granted' },
  activities_linked: { field: 'companyId', message: 'an activity needs a companyId, contactId or dealId' },
  pipeline_stages_won_is_closed: { field: 'isWon', message: 'a won stage must be closed' },
};

/** `contacts_company_id_fkey` → `companyId`; best effort, only used as an error hint. */
function fieldFromConstraint(constraint: string | undefined): string {
  if (!constraint) return 'body';
  const m = /^[a-z]+?_([a-z_]+?)(?:_fkey|_check|_key|_idx)$/.exec(constraint);
  if (!m) return 'body';
  return m[1].replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
}

function isPgError(err: unknown): err is { code: string; constraint?: string; column?: string } {
  return (
    err instanceof Error &&
    typeof (err as { code?: unknown }).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((err as unknown as { code: string }).code) &&
    'severity' in err
  );
}

function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE'].includes(code)) {
    return true;
  }
  return /timeout exceeded when trying to connect|Connection terminated/.test(err.message);
}

const STATUS_TITLE: Record<number, string> = { 500: 'Internal Server Error' };

/** Maps anything thrown to a problem. Never copies messages of unexpected errors into the response. */
export function toProblem(err: unknown, requestId: string, instance?: string): MappedProblem {
  let known: HttpProblem | undefined;
  if (err instanceof HttpProblem) known = err;
  else if (err instanceof ValidationError) {
    known = unprocessable([{ field: err.field, message: err.message.replace(`${err.field}: `, '') }]);
  } else if (err instanceof NotFoundError) known = notFound(err.message);
  else if (err instanceof ConflictError) known = conflict(err.message);
  else if (err instanceof DatabaseUnavailableError || isConnectionError(err)) {
    known = serviceUnavailable('The database is unavailable. Retry the request.');
  } else if (isPgError(err)) known = fromPgError(err);

  if (!known) {
    return {
      unexpected: true,
      problem: {
        type: 'about:blank',
        title: STATUS_TITLE[500],
        status: 500,
        detail: 'An unexpected error occurred. Quote the requestId when reporting it.',
        code: 'INTERNAL',
        requestId,
        ...(instance ? { instance } : {}),
      },
    };
  }
  const { errors, existingId, retryAfter, allow } = known.extras;
  return {
    unexpected: false,
    retryAfter,
    ...(allow ? { allow } : {}),
    problem: {
      type: 'about:blank',
      title: known.title,
      status: known.status,
      detail: known.message,
      code: known.code,
      requestId,
      ...(instance ? { instance } : {}),
      ...(errors ? { errors } : {}),
      ...(existingId ? { existingId } : {}),
    },
  };
}
