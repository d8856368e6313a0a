/**
 * The CRM's collections share one behaviour — list / get / create / PATCH / soft DELETE /
 * restore / admin hard delete, ETags, If-Match, Idempotency-Key, ownership, audit — so it is
 * written once here and each resource file only declares its columns, schemas, filters and
 * hooks. SQL is built from those declarations only: identifiers come from the spec, every value
 * from the request is a bind parameter.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Pool } from 'pg';
import { atLeast, type Role } from '../auth';
import type { Actor, AppEnv } from '../context';
import { assertCursorKey, decodeCursor, encodeCursor, listScope } from '../cursor';
import {
  audit,
  claimIdempotencyKey,
  type Db,
  diffOf,
  type IdempotencyRequest,
  inTransaction,
  type StoredResponse,
  storeIdempotentResponse,
  validIdempotencyKey,
} from '../db';
import { assertVersion, etag, expectedVersions } from '../http';
import { badRequest, conflict, forbidden, notFound, unprocessable } from '../problems';
import type { Router } from '../routing';
import {
  dateOrDateTime,
  IdempotencyHeader,
  IdParams,
  IfMatchHeader,
  pageOf,
  pageQuery,
  queryText,
} from '../schemas/common';

export type Row = Record<string, unknown>;

export interface Column {
  /** Name in the API (camelCase). */
  readonly api: string;
  /** Column of the table; undefined for computed, read-only fields. */
  readonly column?: string;
  /** SQL expression for reading (table alias `t`). @default `t.<column>` */
  readonly select?: string;
  /** bigint columns arrive from pg as strings; the API returns numbers (minor units < 2^53). */
  readonly bigint?: boolean;
  /** Accepted in create / PATCH bodies. @default true for columns */
  readonly writable?: boolean;
}

export interface SortKey {
  /** Expression ordered by (alias `t`); must match an index of migration 0004. */
  readonly expr: string;
  /** Type to cast the cursor's text back to. */
  readonly type: 'timestamptz' | 'text' | 'date';
}

export interface Filter {
  readonly param: string;
  readonly schema: z.ZodType;
  readonly description: string;
  /** SQL condition for the bound value `$n`. */
  readonly where: (placeholder: string) => string;
  /** Maps the parsed value to the bound value (e.g. `owner=me` → the caller's user id). */
  readonly bind?: (value: unknown, actor: Actor) => unknown;
}

export interface UniqueKey {
  /** Unique index name from the schema. */
  readonly constraint: string;
  /** API field named in the 409. */
  readonly field: string;
  /** Finds the live record holding the value: condition on `$1`. */
  readonly lookup: string;
}

export interface Hooks {
  /** Adjusts a validated create body (defaults, derived fields). */
  beforeCreate?(db: Db, input: Row, actor: Actor): Promise<Row>;
  /** Adjusts a validated PATCH body given the current record. */
  beforeUpdate?(db: Db, before: Row, input: Row, actor: Actor): Promise<Row>;
  /** Writes dependent rows (stage history, stages) after the record is written. */
  afterWrite?(db: Db, before: Row | null, after: Row, actor: Actor, input: Row): Promise<void>;
  /** Re-reads the record when afterWrite changed what its representation shows. */
  readonly rereadAfterWrite?: boolean;
  /**
   * Deletes the locked record permanently instead of a plain DELETE (contacts: erasure, which also
   * blanks the person's data in the audit trail). Returns what the purge audit row records.
   */
  purge?(db: Db, id: string): Promise<Record<string, { from: unknown; to: unknown }> | null>;
}

export interface ResourceSpec {
  /** URL segment: `/v1/<path>`. */
  readonly path: string;
  /** Singular, for audit rows and messages: `company`. */
  readonly entity: string;
  readonly table: string;
  readonly tag: string;
  /** Output fields; must include id, createdAt, updatedAt, deletedAt, version (and ownerId when owned). */
  readonly columns: readonly Column[];
  /** owner_id decides who may write: sales only their own records. */
  readonly owned: boolean;
  /** Minimum role to create / change / delete. */
  readonly writeRole: Role;
  readonly item: z.ZodType;
  readonly create: z.ZodType;
  readonly patch: z.ZodType;
  readonly sorts: Readonly<Record<string, SortKey>>;
  /** e.g. `-createdAt` */
  readonly defaultSort: string;
  readonly filters: readonly Filter[];
  /** Columns `q` searches with ILIKE (trigram indexes). */
  readonly search?: readonly string[];
  readonly unique?: readonly UniqueKey[];
  /** API field → referenced live table, checked before writing (→ 422 naming the field). */
  readonly references?: Readonly<Record<string, string>>;
  readonly hooks?: Hooks;
}

const LIVE = 't.deleted_at IS NULL';

export class Resource {
  readonly selectList: string;
  private readonly byApi = new Map<string, Column>();

  constructor(
    readonly spec: ResourceSpec,
    private readonly pool: Pool,
  ) {
    this.selectList = spec.columns.map((col) => `${col.select ?? `t.${col.column}`} AS "${col.api}"`).join(', ');
    for (const col of spec.columns) this.byApi.set(col.api, col);
  }

  /** Converts a pg row to the API representation. */
  toItem(row: Row): Row {
    for (const col of this.spec.columns) {
      if (col.bigint && row[col.api] !== null && row[col.api] !== undefined) row[col.api] = Number(row[col.api]);
    }
    return row;
  }

  async findById(db: Db, id: string, opts: { includeDeleted: boolean; lock?: boolean }): Promise<Row | undefined> {
    const { rows } = await db.query<Row>(
      `SELECT ${this.selectList} FROM ${this.spec.table} t WHERE t.id = $1${opts.includeDeleted ? '' : ` AND ${LIVE}`}${
        opts.lock ? ' FOR UPDATE OF t' : ''
      }`,
      [id],
    );
    return rows[0] ? this.toItem(rows[0]) : undefined;
  }

  assertCanWrite(actor: Actor, record: Row | null, input?: Row): void {
    if (!atLeast(actor.role, this.spec.writeRole)) {
      throw forbidden(`Changing ${this.spec.path} requires the ${this.spec.writeRole} role or higher.`);
    }
    if (!this.spec.owned || atLeast(actor.role, 'manager')) return;
    if (record && record.ownerId !== actor.userId) {
      throw forbidden(`You can change only ${this.spec.path} you own.`);
    }
    if (input && input.ownerId !== undefined && input.ownerId !== actor.userId) {
      throw forbidden('Only managers and admins can assign records to another owner.');
    }
  }

  private async checkReferences(db: Db, input: Row): Promise<void> {
    for (const [field, table] of Object.entries(this.spec.references ?? {})) {
      const value = input[field];
      if (typeof value !== 'string') continue;
      const { rowCount } = await db.query(`SELECT 1 FROM ${table} WHERE id = $1 AND deleted_at IS NULL`, [value]);
      if (!rowCount) throw unprocessable([{ field, message: 'refers to a record that does not exist' }]);
    }
  }

  /** Column assignments for an input object (API names → columns); unknown / read-only fields ignored. */
  private assignments(input: Row): { columns: string[]; values: unknown[] } {
    const columns: string[] = [];
    const values: unknown[] = [];
    for (const [key, value] of Object.entries(input)) {
      const col = this.byApi.get(key);
      if (!col?.column || col.writable === false || value === undefined) continue;
      columns.push(col.column);
      values.push(value);
    }
    return { columns, values };
  }

  /** 23505 on one of our unique keys → 409 naming the live record that holds the value. */
  private async explainUniqueViolation(err: unknown, input: Row): Promise<never> {
    const constraint = (err as { code?: string; constraint?: string }).constraint;
    if ((err as { code?: string }).code === '23505' && constraint) {
      const key = this.spec.unique?.find((u) => u.constraint === constraint);
      if (key) {
        const { rows } = await this.pool.query<{ id: string }>(
          `SELECT id FROM ${this.spec.table} WHERE ${key.lookup} AND deleted_at IS NULL LIMIT 1`,
          [input[key.field]],
        );
        throw conflict(
          `Another ${this.spec.entity} already has this ${key.field}${rows[0] ? ` (id ${rows[0].id})` : ''}.`,
          rows[0]?.id,
        );
      }
    }
    throw err;
  }

  async create(actor: Actor, body: Row, idem?: Omit<IdempotencyRequest, 'body'>): Promise<StoredResponse> {
    let input: Row = { ...body };
    if (this.spec.owned) input.ownerId ??= actor.userId;
    this.assertCanWrite(actor, null, input);
    try {
      return await inTransaction(this.pool, async (db) => {
        const idemReq = idem ? { ...idem, body } : undefined;
        if (idemReq) {
          const replay = await claimIdempotencyKey(db, idemReq);
          if (replay) return { ...replay, headers: { ...replay.headers, 'Idempotent-Replayed': 'true' } };
        }
        await this.checkReferences(db, input);
        if (this.spec.hooks?.beforeCreate) input = await this.spec.hooks.beforeCreate(db, input, actor);
        const { columns, values } = this.assignments(input);
        const placeholders = values.map((_, i) => `$${i + 1}`).join(', ');
        const { rows } = await db.query<Row>(
          `WITH t AS (INSERT INTO ${this.spec.table} (${columns.join(', ')}) VALUES (${placeholders}) RETURNING *)
           SELECT ${this.selectList} FROM t`,
          values,
        );
        let item = this.toItem(rows[0]);
        await audit(db, {
          actor: actor.userId,
          action: `${this.spec.entity}.create`,
          entity: this.spec.entity,
          entityId: item.id as string,
          diff: diffOf(null, item),
        });
        if (this.spec.hooks?.afterWrite) {
          await this.spec.hooks.afterWrite(db, null, item, actor, input);
          if (this.spec.hooks.rereadAfterWrite)
            item = (await this.findById(db, item.id as string, { includeDeleted: true }))!;
        }
        const response: StoredResponse = {
          status: 201,
          body: item,
          headers: { ETag: etag(item.version as number), Location: `/v1/${this.spec.path}/${item.id}` },
        };
        if (idemReq) await storeIdempotentResponse(db, idemReq, response);
        return response;
      });
    } catch (err) {
      return this.explainUniqueViolation(err, input);
    }
  }

  async update(actor: Actor, id: string, expected: readonly number[] | '*', body: Row): Promise<Row> {
    let input: Row = { ...body };
    try {
      return await inTransaction(this.pool, async (db) => {
        const before = await this.findById(db, id, { includeDeleted: false, lock: true });
        if (!before) throw notFound(`No ${this.spec.entity} with this id.`);
        this.assertCanWrite(actor, before, input);
        assertVersion(expected, before.version as number);
        await this.checkReferences(db, input);
        if (this.spec.hooks?.beforeUpdate) input = await this.spec.hooks.beforeUpdate(db, before, input, actor);
        const { columns, values } = this.assignments(input);
        const changed = columns.filter((_, i) => {
          const api = this.spec.columns.find((c) => c.column === columns[i])!.api;
          return JSON.stringify(before[api] ?? null) !== JSON.stringify(values[i] ?? null);
        });
        if (changed.length === 0) return before; // nothing to change: no new version, no audit row
        const sets = columns.map((col, i) => `${col} = $${i + 2}`).join(', ');
        const { rows } = await db.query<Row>(
          `WITH t AS (UPDATE ${this.spec.table} SET ${sets} WHERE id = $1 RETURNING *) SELECT ${this.selectList} FROM t`,
          [id, ...values],
        );
        let after = this.toItem(rows[0]);
        await audit(db, {
          actor: actor.userId,
          action: `${this.spec.entity}.update`,
          entity: this.spec.entity,
          entityId: id,
          diff: diffOf(before, after),
        });
        if (this.spec.hooks?.afterWrite) {
          await this.spec.hooks.afterWrite(db, before, after, actor, input);
          if (this.spec.hooks.rereadAfterWrite) after = (await this.findById(db, id, { includeDeleted: true }))!;
        }
        return after;
      });
    } catch (err) {
      return this.explainUniqueViolation(err, input);
    }
  }

  /** Soft delete (`deleted_at = now()`), or restore (`deleted_at = NULL`). */
  async setDeleted(actor: Actor, id: string, expected: readonly number[] | '*', deleted: boolean): Promise<Row> {
    try {
      return await inTransaction(this.pool, async (db) => {
        const before = await this.findById(db, id, { includeDeleted: true, lock: true });
        if (!before) throw notFound(`No ${this.spec.entity} with this id.`);
        // A deleted record is invisible to those who cannot list deleted records.
        if (
          before.deletedAt !== null &&
          !deleted &&
          !atLeast(actor.role, 'manager') &&
          before.ownerId !== actor.userId
        ) {
          throw notFound(`No ${this.spec.entity} with this id.`);
        }
        if (deleted && before.deletedAt !== null) throw notFound(`No ${this.spec.entity} with this id.`);
        this.assertCanWrite(actor, before);
        assertVersion(expected, before.version as number);
        if (!deleted && before.deletedAt === null) throw conflict(`This ${this.spec.entity} is not deleted.`);
        const { rows } = await db.query<Row>(
          `WITH t AS (UPDATE ${this.spec.table} SET deleted_at = ${deleted ? 'now()' : 'NULL'} WHERE id = $1 RETURNING *)
           SELECT ${this.selectList} FROM t`,
          [id],
        );
        const after = this.toItem(rows[0]);
        await audit(db, {
          actor: actor.userId,
          action: `${this.spec.entity}.${deleted ? 'delete' : 'restore'}`,
          entity: this.spec.entity,
          entityId: id,
          diff: diffOf(before, after),
        });
        return after;
      });
    } catch (err) {
      return this.explainUniqueViolationOnRestore(err, id);
    }
  }

  private async explainUniqueViolationOnRestore(err: unknown, id: string): Promise<never> {
    if ((err as { code?: string }).code === '23505') {
      const row = await this.findById(this.pool, id, { includeDeleted: true });
      if (row) return this.explainUniqueViolation(err, row);
    }
    throw err;
  }

  /** Admin hard delete: the row goes; the audit row keeps only who and when (no personal data). */
  async purge(actor: Actor, id: string, expected: readonly number[] | '*'): Promise<void> {
    if (actor.role !== 'admin') throw forbidden('Only admins can delete permanently.');
    try {
      await inTransaction(this.pool, async (db) => {
        const before = await this.findById(db, id, { includeDeleted: true, lock: true });
        if (!before) throw notFound(`No ${this.spec.entity} with this id.`);
        assertVersion(expected, before.version as number);
        const hooks = this.spec.hooks;
        const diff = hooks?.purge ? await hooks.purge(db, id) : null;
        if (!hooks?.purge) await db.query(`DELETE FROM ${this.spec.table} WHERE id = $1`, [id]);
        await audit(db, {
          actor: actor.userId,
          action: `${this.spec.entity}.purge`,
          entity: this.spec.entity,
          entityId: id,
          diff,
        });
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23503') {
        throw conflict(`This ${this.spec.entity} is still referenced by other records; delete or move them first.`);
      }
      throw err;
    }
  }

  async list(actor: Actor, query: Row): Promise<{ items: Row[]; nextCursor: string | null }> {
    const params: unknown[] = [];
    const bind = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (query.deleted === 'true') {
      if (!atLeast(actor.role, 'manager')) throw forbidden('Only managers and admins can list deleted records.');
      where.push('t.deleted_at IS NOT NULL');
    } else {
      where.push(LIVE);
    }
    // The cursor scope takes filters as bound, so `owner=me` is the caller's id: a cursor made
    // by one user cannot page another user's `me` list.
    const scoped: Row = { ...query };
    for (const f of this.spec.filters) {
      const v = query[f.param];
      if (v === undefined) continue;
      const bound = f.bind ? f.bind(v, actor) : v;
      scoped[f.param] = bound;
      where.push(f.where(bind(bound)));
    }
    if (typeof query.q === 'string' && this.spec.search) {
      const pattern = bind(`%${query.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
      where.push(`(${this.spec.search.map((col) => `t.${col} ILIKE ${pattern}`).join(' OR ')})`);
    }
    const sortName = (query.sort as string | undefined) ?? this.spec.defaultSort;
    const desc = sortName.startsWith('-');
    const key = this.spec.sorts[desc ? sortName.slice(1) : sortName];
    if (!key) throw badRequest('Unknown sort.'); // unreachable: the query schema whitelists sorts
    // The entity too: a cursor from the companies list is not a position in the contacts list.
    const scope = listScope(`${this.spec.entity}:${sortName}`, scoped);
    if (typeof query.cursor === 'string') {
      const cursor = decodeCursor(query.cursor, scope);
      assertCursorKey(cursor.key, key.type);
      where.push(
        `(${key.expr}, t.id) ${desc ? '<' : '>'} (${bind(cursor.key)}::${key.type}, ${bind(cursor.id)}::uuid)`,
      );
    }
    const limit = query.limit as number;
    const dir = desc ? 'DESC' : 'ASC';
    const sql = `SELECT ${this.selectList}, (${key.expr})::text AS "__key" FROM ${this.spec.table} t
      WHERE ${where.join(' AND ')} ORDER BY ${key.expr} ${dir}, t.id ${dir} LIMIT ${bind(limit + 1)}`;
    let rows: Row[];
    try {
      ({ rows } = await this.pool.query<Row>(sql, params));
    } catch (err) {
      // A cursor whose key does not cast back (edited by hand) is the client's mistake.
      // (22007 bad format, 22008 field out of range, 22009 offset out of range, 22P02 bad text.)
      if (
        typeof query.cursor === 'string' &&
        ['22007', '22008', '22009', '22P02'].includes((err as { code?: string }).code ?? '')
      )
        throw badRequest('cursor is malformed.');
      throw err;
    }
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    const nextCursor =
      more && last ? encodeCursor({ sort: scope, key: last.__key as string, id: last.id as string }) : null;
    return {
      items: page.map((r) => {
        delete r.__key;
        return this.toItem(r);
      }),
      nextCursor,
    };
  }
}

/** Query schema of a list: paging, sort whitelist, q, deleted and the resource's filters. Strict. */
export function listQuerySchema(spec: ResourceSpec) {
  const sortValues = Object.keys(spec.sorts).flatMap((k) => [k, `-${k}`]) as [string, ...string[]];
  const shape: Record<string, z.ZodType> = {
    ...pageQuery,
    sort: z
      .enum(sortValues)
      .optional()
      .openapi({ description: `Sort field, '-' prefix for descending. Default ${spec.defaultSort}.` }),
    deleted: z
      .enum(['true', 'false'])
      .optional()
      .openapi({ description: 'true: list only soft-deleted records (managers and admins).' }),
  };
  if (spec.search) {
    shape.q = queryText(200)
      .min(1)
      .optional()
      .openapi({ description: `Case-insensitive substring search in ${spec.search.join(', ')}.` });
  }
  for (const f of spec.filters) shape[f.param] = f.schema.optional().openapi({ description: f.description });
  return z.strictObject(shape);
}

const HardQuery = z.strictObject({
  hard: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ description: 'true: delete permanently (admins only; the audit row keeps no field values).' }),
});

function idempotencyOf(c: Context<AppEnv>, actor: Actor): Omit<IdempotencyRequest, 'body'> | undefined {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!validIdempotencyKey(key)) {
    throw unprocessable([{ field: 'Idempotency-Key', message: 'must be 1–200 visible ASCII characters' }]);
  }
  return { key, actor: actor.userId, method: 'POST', path: c.req.path };
}

function send(c: Context<AppEnv>, res: StoredResponse): Response {
  return c.body(JSON.stringify(res.body), res.status as 200, { ...res.headers, 'Content-Type': 'application/json' });
}

function sendItem(c: Context<AppEnv>, item: Row, status: 200 | 201 = 200): Response {
  return c.body(JSON.stringify(item), status, {
    ETag: etag(item.version as number),
    'Content-Type': 'application/json',
  });
}

/** Registers the seven endpoints of a collection. Returns the Resource for custom endpoints. */
export function registerCrud(router: Router, pool: Pool, spec: ResourceSpec): Resource {
  const resource = new Resource(spec, pool);
  const base = `/v1/${spec.path}`;
  const name = spec.path.charAt(0).toUpperCase() + spec.path.slice(1);
  const singular =
    spec.entity.charAt(0).toUpperCase() +
    spec.entity.slice(1).replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
  const Page = pageOf(spec.item, `${singular}Page`);
  const actorOf = (c: Context<AppEnv>) => c.get('actor')!;

  router.add(
    {
      method: 'get',
      path: base,
      tag: name,
      operationId: `list${name}`,
      summary: `List ${spec.path}`,
      description: 'Keyset-paginated: pass nextCursor as cursor for the next page (same sort and filters).',
      query: listQuerySchema(spec),
      ok: { 200: { description: 'One page', schema: Page } },
    },
    async (c, { query }) => {
      const page = await resource.list(actorOf(c), query as Row);
      return c.json(page, 200);
    },
  );

  router.add(
    {
      method: 'get',
      path: `${base}/{id}`,
      tag: name,
      operationId: `get${singular}`,
      summary: `Get one ${spec.entity}`,
      description: 'Soft-deleted records are visible to managers and admins only (deletedAt is set).',
      params: IdParams,
      ok: { 200: { description: 'The record; ETag carries its version', schema: spec.item } },
    },
    async (c, { params }) => {
      const actor = actorOf(c);
      const item = await resource.findById(pool, params.id, { includeDeleted: atLeast(actor.role, 'manager') });
      if (!item) throw notFound(`No ${spec.entity} with this id.`);
      return sendItem(c, item);
    },
  );

  router.add(
    {
      method: 'post',
      path: base,
      tag: name,
      operationId: `create${singular}`,
      summary: `Create a ${spec.entity}`,
      access: spec.writeRole,
      headers: IdempotencyHeader,
      body: spec.create,
      ok: { 201: { description: 'Created; ETag and Location set', schema: spec.item } },
      problems: [409, 422],
    },
    async (c, { body }) => {
      const actor = actorOf(c);
      return send(c, await resource.create(actor, body as Row, idempotencyOf(c, actor)));
    },
  );

  router.add(
    {
      method: 'patch',
      path: `${base}/{id}`,
      tag: name,
      operationId: `update${singular}`,
      summary: `Change fields of a ${spec.entity}`,
      description: 'Send only the fields to change; null clears an optional field. Requires If-Match.',
      access: spec.writeRole,
      params: IdParams,
      headers: IfMatchHeader,
      body: spec.patch,
      ok: { 200: { description: 'Updated; ETag carries the new version', schema: spec.item } },
      problems: [404, 409, 412, 428],
    },
    async (c, { params, body }) => {
      const expected = expectedVersions(c);
      return sendItem(c, await resource.update(actorOf(c), params.id, expected, body as Row));
    },
  );

  router.add(
    {
      method: 'delete',
      path: `${base}/{id}`,
      tag: name,
      operationId: `delete${singular}`,
      summary: `Delete a ${spec.entity} (soft; ?hard=true permanently, admins only)`,
      description:
        'Soft delete hides the record (restore with POST .../restore) and answers 200 with it. ' +
        'hard=true (admins) removes it and what cascades from it, and answers 204. Requires If-Match.',
      access: spec.writeRole,
      params: IdParams,
      query: HardQuery,
      headers: IfMatchHeader,
      ok: {
        200: { description: 'Soft-deleted', schema: spec.item },
        204: { description: 'Deleted permanently' },
      },
      problems: [404, 409, 412, 428],
    },
    async (c, { params, query }) => {
      const expected = expectedVersions(c);
      if (query.hard === 'true') {
        await resource.purge(actorOf(c), params.id, expected);
        return c.body(null, 204);
      }
      return sendItem(c, await resource.setDeleted(actorOf(c), params.id, expected, true));
    },
  );

  router.add(
    {
      method: 'post',
      path: `${base}/{id}/restore`,
      tag: name,
      operationId: `restore${singular}`,
      summary: `Restore a soft-deleted ${spec.entity}`,
      description: 'If-Match is optional here; when sent it must match. 409 when the record is not deleted.',
      access: spec.writeRole,
      params: IdParams,
      ok: { 200: { description: 'Restored', schema: spec.item } },
      problems: [404, 409, 412],
    },
    async (c, { params }) => {
      const expected = c.req.header('if-match') ? expectedVersions(c) : '*';
      return sendItem(c, await resource.setDeleted(actorOf(c), params.id, expected, false));
    },
  );

  return resource;
}

/** `owner` filter shared by owned resources: a user id or `me`. */
export const ownerFilter: Filter = {
  param: 'owner',
  schema: z.union([z.literal('me'), z.uuid()]),
  description: "Owner's user id, or 'me'.",
  where: (p) => `t.owner_id = ${p}::uuid`,
  bind: (v, actor) => (v === 'me' ? actor.userId : v),
};

export function createdRangeFilters(): Filter[] {
  const ts = dateOrDateTime();
  return [
    {
      param: 'createdFrom',
      schema: ts,
      description: 'Created at or after (ISO 8601 date or date-time).',
      where: (p) => `t.created_at >= ${p}::timestamptz`,
    },
    {
      param: 'createdTo',
      schema: ts,
      description: 'Created before (exclusive).',
      where: (p) => `t.created_at < ${p}::timestamptz`,
    },
  ];
}

export function uuidFilter(param: string, column: string, description: string): Filter {
  return { param, schema: z.uuid(), description, where: (p) => `t.${column} = ${p}::uuid` };
}

/** Output columns every business table has. */
export function standardColumns(opts: { owned: boolean }): Column[] {
  return [
    { api: 'id', column: 'id', writable: false },
    ...(opts.owned ? [{ api: 'ownerId', column: 'owner_id' }] : []),
    { api: 'createdAt', column: 'created_at', writable: false },
    { api: 'updatedAt', column: 'updated_at', writable: false },
    { api: 'deletedAt', column: 'deleted_at', writable: false },
    { api: 'version', column: 'version', writable: false },
  ];
}

export const standardSorts: Record<string, SortKey> = {
  createdAt: { expr: 't.created_at', type: 'timestamptz' },
  updatedAt: { expr: 't.updated_at', type: 'timestamptz' },
};

/** Output fields every item has (OpenAPI). */
export function standardItemShape(opts: { owned: boolean }) {
  return {
    id: z.uuid(),
    ...(opts.owned ? { ownerId: z.uuid() } : {}),
    createdAt: z.string().openapi({ format: 'date-time' }),
    updatedAt: z.string().openapi({ format: 'date-time' }),
    deletedAt: z.string().nullable().openapi({ format: 'date-time' }),
    version: z.number().int(),
  };
}
