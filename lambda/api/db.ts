/**
 * Transactions, the audit trail and Idempotency-Key storage. Every write of the API runs in
 * `inTransaction`, appends its audit row with `audit()` in that same transaction, and — for
 * POSTs carrying an Idempotency-Key — claims the key in that transaction too, so the record, its
 * audit row and the stored response commit or roll back together.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { unprocessable } from './problems';

export type Db = Pick<PoolClient, 'query'>;

export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection is unusable: destroy it instead of returning it to the pool
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

export interface AuditEntry {
  /** users.id of the caller. */
  readonly actor: string;
  /** `<entity>.<verb>`, e.g. `company.update`. */
  readonly action: string;
  readonly entity: string;
  readonly entityId: string;
  /** `{ field: { from, to } }`; null when the values must not be kept (hard delete). */
  readonly diff: Record<string, { from: unknown; to: unknown }> | null;
}

export async function audit(db: Db, entry: AuditEntry): Promise<void> {
  await db.query('INSERT INTO crm.audit_log (actor, action, entity, entity_id, diff) VALUES ($1, $2, $3, $4, $5)', [
    entry.actor,
    entry.action,
    entry.entity,
    entry.entityId,
    entry.diff === null ? null : JSON.stringify(entry.diff),
  ]);
}

/** Field-by-field difference of two API representations (only changed fields). */
export function diffOf(
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
  ignore: readonly string[] = ['version', 'createdAt', 'updatedAt'],
): Record<string, { from: unknown; to: unknown }> {
  const diff: Record<string, { from: unknown; to: unknown }> = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const key of keys) {
    if (ignore.includes(key)) continue;
    const from = before?.[key] ?? null;
    const to = after?.[key] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) diff[key] = { from, to };
  }
  return diff;
}

export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
}

export interface IdempotencyRequest {
  readonly key: string;
  readonly actor: string;
  readonly method: 'POST';
  readonly path: string;
  readonly body: unknown;
}

const KEY_TTL_HOURS = 24;
/** Bound on the opportunistic purge in `claimIdempotencyKey`: a write never pays for a big backlog. */
export const EXPIRED_KEYS_PURGED_PER_CLAIM = 100;
const KEY_FORMAT = /^[\x21-\x7e]{1,200}$/;

export function validIdempotencyKey(key: string): boolean {
  return KEY_FORMAT.test(key);
}

function requestHash(req: IdempotencyRequest): string {
  return createHash('sha256')
    .update(`${req.method} ${req.path}\n${JSON.stringify(req.body)}`)
    .digest('hex');
}

/**
 * Claims (actor, key) inside the caller's transaction. Returns the stored response to replay, or
 * undefined when this request owns the key and must run (then call `storeIdempotentResponse`).
 * A concurrent request with the same key waits on the row lock until the first one commits.
 * Same key, different request → 422.
 *
 * The same statement purges up to EXPIRED_KEYS_PURGED_PER_CLAIM expired keys (oldest first, via
 * idempotency_keys_expires_at_idx), so the table stays bounded without a scheduled job: each
 * claim removes more expired rows than it adds. SKIP LOCKED: a purge never waits for another
 * transaction (a concurrent purge, or a retry re-claiming its own expired key). The key being
 * claimed is excluded: one statement must not both delete and upsert the same row.
 */
export async function claimIdempotencyKey(db: Db, req: IdempotencyRequest): Promise<StoredResponse | undefined> {
  const hash = requestHash(req);
  const claimed = await db.query(
    `WITH purged AS (
       DELETE FROM crm.idempotency_keys
        WHERE (actor, key) IN (
          SELECT actor, key FROM crm.idempotency_keys
           WHERE expires_at < now() AND (actor, key) <> ($2, $1)
           ORDER BY expires_at
           LIMIT $7
             FOR UPDATE SKIP LOCKED))
     INSERT INTO crm.idempotency_keys (key, actor, method, path, request_hash, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(hours => $6))
     ON CONFLICT (actor, key) DO UPDATE
       SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
           status_code = NULL, response = NULL, created_at = now(), expires_at = EXCLUDED.expires_at
       WHERE crm.idempotency_keys.expires_at <= now()
     RETURNING key`,
    [req.key, req.actor, req.method, req.path, hash, KEY_TTL_HOURS, EXPIRED_KEYS_PURGED_PER_CLAIM],
  );
  if (claimed.rowCount === 1) return undefined;
  const { rows } = await db.query<{
    request_hash: string;
    status_code: number | null;
    response: StoredResponse | null;
  }>('SELECT request_hash, status_code, response FROM crm.idempotency_keys WHERE actor = $1 AND key = $2', [
    req.actor,
    req.key,
  ]);
  const stored = rows[0];
  if (!stored || stored.request_hash !== hash) {
    throw unprocessable(
      [{ field: 'Idempotency-Key', message: 'was already used for a different request' }],
      'This Idempotency-Key was used with a different request. Use a new key for a new request.',
    );
  }
  if (stored.status_code === null || stored.response === null) {
    // Cannot happen: the key row and its response commit together. Treat as a conflicting retry.
    throw unprocessable([{ field: 'Idempotency-Key', message: 'is in use by a request in progress' }]);
  }
  return stored.response;
}

export async function storeIdempotentResponse(db: Db, req: IdempotencyRequest, res: StoredResponse): Promise<void> {
  await db.query('UPDATE crm.idempotency_keys SET status_code = $3, response = $4 WHERE actor = $1 AND key = $2', [
    req.actor,
    req.key,
    res.status,
    JSON.stringify(res),
  ]);
}
