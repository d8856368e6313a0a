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
  // the WHERE clause gets up to two thirds of the room, the start of the statement the rest
  const tailRoom = Math.min(tail.length, Math.floor((maxLength * 2) / 3));
  const headRoom = Math.max(maxLength - tailRoom - 3, 10);
  const head = `${full.slice(0, headRoom).trimEnd()} … `;
  const shownTail = tail.length > tailRoom ? `${tail.slice(0, Math.max(tailRoom - 1, 0)).trimEnd()}…` : tail;
  return `${head}${shownTail}`;
}
