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

const dateTime = z.iso.datetime({ offset: true });

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
