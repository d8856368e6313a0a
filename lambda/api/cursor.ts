/**
 * Opaque keyset-pagination cursors: base64url(JSON) carrying the sort it belongs to, the sort key
 * of the last row (as PostgreSQL text, so timestamps keep their microseconds) and its id.
 * Decoding is strict: a tampered or foreign cursor is a 400, never an SQL error.
 */
import { badRequest } from './problems';

export interface Cursor {
  /** Sort field and direction the cursor was issued for, e.g. `-createdAt`. */
  readonly sort: string;
  /** Sort key of the last row, as text; null when the key was NULL. */
  readonly key: string | null;
  readonly id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_CURSOR_LENGTH = 2048;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.sort, c.key, c.id]), 'utf8').toString('base64url');
}

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
    throw badRequest('cursor was issued for a different sort; repeat the request with that sort or drop the cursor.');
  }
  return { sort: parsed[0], key: parsed[1], id: parsed[2] };
}
