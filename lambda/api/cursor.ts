/**
 * Opaque keyset-pagination cursors: base64url(JSON) carrying the list it belongs to (its sort and
 * a fingerprint of its filters), the sort key of the last row (as PostgreSQL text, so timestamps
 * keep their microseconds) and its id. Decoding is strict: a tampered or foreign cursor is a 400,
 * never an SQL error, and a cursor replayed with other filters is refused rather than silently
 * paging through a different result.
 */
import { createHash } from 'node:crypto';
import { badRequest } from './problems';

export interface Cursor {
  /** The list the cursor was issued for: `listScope(sort, query)`, e.g. `-createdAt|3fa9c0d1e2b4`. */
  readonly sort: string;
  /** Sort key of the last row, as text; null when the key was NULL. */
  readonly key: string | null;
  readonly id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_CURSOR_LENGTH = 2048;

/** Query parameters that do not change which rows a list contains. */
const NOT_FILTERS = new Set(['cursor', 'limit', 'sort']);

/**
 * The scope a cursor belongs to: the sort, and a fingerprint of every filter (q, owner, dates,
 * deleted, ...). Changing `limit` between pages is fine; changing a filter is not.
 */
export function listScope(sort: string, query: Readonly<Record<string, unknown>>): string {
  const filters = Object.entries(query)
    .filter(([k, v]) => !NOT_FILTERS.has(k) && v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => [k, String(v)]);
  const fingerprint = createHash('sha256').update(JSON.stringify(filters)).digest('base64url').slice(0, 12);
  return `${sort}|${fingerprint}`;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.sort, c.key, c.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor issued for `expectedSort` (a `listScope`, or a plain sort for unfiltered lists). */
export function decodeCursor(raw: string, expectedSort: string): Cursor {
  if (raw.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(raw)) throw badRequest('cursor is malformed.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('cursor is malformed.');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    !(typeof parsed[1] === 'string' || parsed[1] === null) ||
    typeof parsed[2] !== 'string' ||
    !UUID.test(parsed[2]) ||
    (typeof parsed[1] === 'string' && (parsed[1].length > 1024 || parsed[1].includes('\u0000')))
  ) {
    throw badRequest('cursor is malformed.');
  }
  if (parsed[0] !== expectedSort) {
    const [issuedSort] = parsed[0].split('|');
    const [expected] = expectedSort.split('|');
    throw badRequest(
      issuedSort !== expected
        ? 'cursor was issued for a different list or sort; repeat the request with that sort or drop the cursor.'
        : 'cursor was issued for different filters; repeat the request with the same filters (q, owner, dates, ...) or drop the cursor.',
    );
  }
  return { sort: parsed[0], key: parsed[1], id: parsed[2] };
}

/**
 * The text forms PostgreSQL gives a sort key (`(expr)::text`): a timestamptz in ISO DateStyle
 * (offset hours within PostgreSQL's ±15), a date, or ±infinity (the sorts coalesce NULL to it).
 */
const KEY_FORMS: Readonly<Record<string, RegExp>> = {
  timestamptz:
    /^(?:-?infinity|\d{4,6}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?[+-](?:0\d|1[0-5])(?::[0-5]\d){0,2}(?: BC)?)$/,
  date: /^(?:-?infinity|\d{4,6}-\d{2}-\d{2}(?: BC)?)$/,
};

/** Refuses (400) a cursor whose sort key cannot be what PostgreSQL wrote for a key of this type. */
export function assertCursorKey(key: string | null, type: string): asserts key is string {
  if (key === null) throw badRequest('cursor is malformed.');
  const form = KEY_FORMS[type];
  if (form && !form.test(key)) throw badRequest('cursor is malformed.');
}
