/**
 * The statement text a report shows: normalised (no literals, lexing in normalise.ts) and cut
 * to a length, but never at the cost of its WHERE clause — the part that says which index is
 * missing. A long select list is shortened instead: `SELECT a, b, … FROM t WHERE x = $1`.
 */
import { normaliseStatement } from './normalise';

export function shownStatement(query: string, maxLength: number): string {
  const full = normaliseStatement(query, Number.MAX_SAFE_INTEGER);
  if (full.length <= maxLength) return full;
  const where = /\bWHERE\b/i.exec(full);
  if (!where) return normaliseStatement(query, maxLength);
  const tail = full.slice(where.index);
  // the WHERE clause gets up to two thirds of the room, the start of the statement the rest
  const tailRoom = Math.min(tail.length, Math.floor((maxLength * 2) / 3));
  const headRoom = Math.max(maxLength - tailRoom - 3, 10);
  const head = `${full.slice(0, headRoom).trimEnd()} … `;
  const shownTail = tail.length > tailRoom ? `${tail.slice(0, Math.max(tailRoom - 1, 0)).trimEnd()}…` : tail;
  return `${head}${shownTail}`;
}
