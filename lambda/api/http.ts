/**
 * Request parsing shared by every route: JSON bodies (415 / 400 / 422), query strings (422),
 * ETag / If-Match handling (428 / 412), per-field errors from zod issues.
 */
import type { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  badRequest,
  type FieldError,
  preconditionFailed,
  preconditionRequired,
  unprocessable,
  unsupportedMediaType,
} from './problems';

/** `application/json`, with or without parameters, and `application/*+json` (e.g. merge-patch). */
const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;.*)?$/i;

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues
    .flatMap((issue): FieldError[] => {
      // An unknown key is an error about that key, not about the object holding it.
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => ({
          field: [...issue.path, key].map(String).join('.'),
          message: 'Unknown field: not part of this resource (check the spelling).',
        }));
      }
      return [
        {
          field: issue.path.length > 0 ? issue.path.map(String).join('.') : 'body',
          // zod messages describe the rule ("Too big: expected string to have <=200 characters"), never the input.
          message: issue.message,
        },
      ];
    })
    .slice(0, 50);
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix?: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const errors = fieldErrors(result.error);
    throw unprocessable(
      prefix ? errors.map((e) => ({ ...e, field: e.field === 'body' ? prefix : `${prefix}.${e.field}` })) : errors,
    );
  }
  return result.data;
}

/** Reads and validates a JSON body. The size limit was already enforced by the body-limit middleware. */
export async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const contentType = c.req.header('content-type');
  if (!contentType || !JSON_CONTENT_TYPE.test(contentType)) throw unsupportedMediaType();
  const text = await c.req.text();
  if (text.trim().length === 0) throw badRequest('The request body is empty; send a JSON object.');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  return parseWith(schema, body);
}

/** Query string (first value of each parameter) validated by a strict schema: unknown parameters are 422. */
export function readQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  return parseWith(schema, c.req.query(), 'query');
}

export function etag(version: number): string {
  return `"${version}"`;
}

/**
 * The versions the client accepts, from `If-Match`: missing → 428; `*` → any version. A list,
 * weak tags and unquoted versions (a common hand-typed mistake) are accepted; a tag that is not
 * one of ours matches nothing (→ 412 at the check).
 */
export function expectedVersions(c: Context): readonly number[] | '*' {
  const header = c.req.header('if-match');
  if (header === undefined || header.trim() === '') throw preconditionRequired();
  if (header.trim() === '*') return '*';
  const versions: number[] = [];
  for (const tag of header.split(',')) {
    const m = /^\s*(?:W\/)?("?)(\d{1,15})\1\s*$/.exec(tag);
    if (m) versions.push(Number(m[2]));
  }
  return versions;
}

/** Throws 412 unless the current version is one If-Match asked for. */
export function assertVersion(expected: readonly number[] | '*', current: number): void {
  if (expected === '*') return;
  if (!expected.includes(current)) throw preconditionFailed();
}
