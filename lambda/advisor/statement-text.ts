/**
 * The statement text a report shows: normalised (no literals, lexing in normalise.ts) and cut
 * to a length, but never at the cost of its WHERE clause — the part that says which index is
 * missing. A long select list is shortened instead: `SELECT a, b, … FROM t WHERE x = $1`.
 */
import { normaliseStatement } from './normalise';

export function shownStatement(query: string, maxLength: number): string {
  return shortenKeepingWhere(normaliseStatement(query, Number.MAX_SAFE_INTEGER), maxLength);
}

/** Cuts already-normalised text to `maxLength` characters, shortening what precedes WHERE first. */
export function shortenKeepingWhere(full: string, maxLength: number): string {
  if (full.length <= maxLength) return full;
  const where = /\bWHERE\b/i.exec(full);
  if (!where) return `${full.slice(0, Math.max(0, maxLength - 1)).trimEnd()}…`;
  const tail = full.slice(where.index);
  // the start keeps at least `<verb> … FROM <table>` (up to half the room); the WHERE clause the rest
  const from = /\bFROM\s+\S+/i.exec(full);
  const wantedHead = from && from.index < where.index ? from.index + from[0].length : Math.floor(maxLength / 3);
  const minHead = Math.min(wantedHead, Math.floor(maxLength / 2));
  const headRoom = Math.max(maxLength - tail.length - 3, minHead, 1);
  const tailRoom = Math.max(maxLength - headRoom - 3, 1);
  const head = `${full.slice(0, headRoom).trimEnd()} … `;
  const shownTail = tail.length > tailRoom ? `${tail.slice(0, Math.max(tailRoom - 1, 0)).trimEnd()}…` : tail;
  return `${head}${shownTail}`;
}
