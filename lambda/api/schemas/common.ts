/** Schemas shared by all resources. `z` comes from @hono/zod-openapi so `.openapi()` is available. */
import { z } from '@hono/zod-openapi';
import { normalizeDomain, normalizeEmail, normalizePhone } from '../normalize';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string(),
    code: z.string().openapi({ example: 'VALIDATION' }),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    existingId: z.uuid().optional(),
  })
  .openapi('Problem');

export const Uuid = z.uuid().openapi({ example: '0b7e6a52-4c0e-4d8c-9d4f-2f6f0b1c9a11' });

export const IdParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: '0b7e6a52-4c0e-4d8c-9d4f-2f6f0b1c9a11' }),
});

/**
 * Free text: trimmed, no NUL byte (PostgreSQL text cannot store it), bounded length.
 * Other Unicode (emoji, RTL marks, combining characters) is stored as given.
 */
export function text(max: number, min = 1) {
  return z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine((s) => !s.includes('\u0000'), { message: 'must not contain the NUL character' });
}

/** A query-string value: bounded, no NUL byte. */
export function queryText(max = 200) {
  return z
    .string()
    .max(max)
    .refine((s) => !s.includes('\u0000'), { message: 'must not contain the NUL character' });
}

export const IfMatchHeader = z.object({
  'if-match': z.string().openapi({ description: 'ETag of the version you read, e.g. "3". Required.', example: '"3"' }),
});

export const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .openapi({ description: 'Makes the POST safe to retry: a replay returns the first response (1–200 chars).' }),
});

/**
 * Dates and date-times as PostgreSQL will read them. zod's ISO syntax alone lets through values
 * PostgreSQL refuses (a 500 if they reached it): year 0000 (22008; there is no year 0) and UTC
 * offsets beyond ±15:59 (22009). Real offsets lie within ±14:00, so that is the bound we accept.
 */
const MAX_OFFSET_MINUTES = 14 * 60;
const OFFSET = /(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Why PostgreSQL would refuse an ISO date or date-time that passed zod's syntax check; undefined if it would not. */
export function pgDateTimeProblem(value: string): string | undefined {
  if (value.startsWith('0000')) return 'year 0000 does not exist; use 0001 to 9999';
  if (value.length <= 10) return undefined; // a plain date: no offset
  const m = OFFSET.exec(value);
  if (m?.[1] && Number(m[2]) * 60 + Number(m[3]) > MAX_OFFSET_MINUTES) {
    return 'UTC offset must be between -14:00 and +14:00';
  }
  return undefined;
}

function refinePg(value: string, ctx: z.core.$RefinementCtx<string>): void {
  const problem = pgDateTimeProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}

const DATE_TIME_RULE =
  'must be an ISO 8601 date-time with a UTC offset between -14:00 and +14:00, e.g. 2026-01-31T09:30:00Z';
const DATE_RULE = 'must be a date YYYY-MM-DD from 0001-01-01 to 9999-12-31';

/** A date-time with `Z` or an offset within ±14:00 (timestamptz). */
const dateTime = z.iso
  .datetime({ offset: true, error: DATE_TIME_RULE })
  .superRefine(refinePg)
  .openapi({ example: '2026-01-31T09:30:00Z' });

/** A calendar date YYYY-MM-DD, year 0001–9999 (date). */
export const isoDate = () => z.iso.date({ error: DATE_RULE }).superRefine(refinePg).openapi({ example: '2026-12-31' });

/**
 * A date-time filter: a date-time (as `DateTime`) or a plain date, read as midnight in the
 * database session's time zone (UTC).
 */
export const dateOrDateTime = () =>
  z
    .union([z.iso.datetime({ offset: true }), z.iso.date()], {
      error: `must be a date YYYY-MM-DD or an ISO 8601 date-time with a UTC offset between -14:00 and +14:00`,
    })
    .superRefine(refinePg);

export { dateTime as DateTime };

/** `limit` and `cursor` of every list. */
export const pageQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .openapi({ param: { name: 'limit', in: 'query' }, description: '1–200, default 50' }),
  cursor: queryText(2048)
    .optional()
    .openapi({ param: { name: 'cursor', in: 'query' }, description: 'nextCursor of the previous page' }),
};

export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);
}

/** Wraps a normaliser that throws ValidationError into a zod transform that reports an issue. */
function normalised(fn: (value: string) => string, max: number, description: string, example: string) {
  return z
    .string()
    .max(max)
    .transform((value, ctx) => {
      try {
        return fn(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message.replace(/^[a-z]+: /, '') });
        return z.NEVER;
      }
    })
    .openapi({ description, example });
}

export const emailField = () =>
  normalised(normalizeEmail, 320, 'Stored trimmed and lower-cased; unique among live records.', 'ada@example.com');
export const domainField = () =>
  normalised(
    normalizeDomain,
    2048,
    'A domain or URL; stored as the bare domain (no scheme, www or path), lower-cased; unique among live records.',
    'example.com',
  );
export const phoneField = () =>
  normalised(normalizePhone, 50, 'Stored as E.164. National numbers are read as NANP (+1).', '+44 20 7946 0958');

/** ISO 4217 code, upper-cased. */
export const currencyField = () =>
  z
    .string()
    .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
    .transform((s) => s.toUpperCase())
    .openapi({ example: 'EUR' });

/** Money in minor units (cents). */
export const minorUnits = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).openapi({ example: 125000 });

/** The create-body shape: every field optional except `required`. */
export function optionalExcept(
  fields: Record<string, z.ZodType>,
  required: readonly string[],
): Record<string, z.ZodType> {
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, required.includes(k) ? v : v.optional()]));
}
