/**
 * Admin-only user management: list users, change a user's CRM role, deactivate / reactivate.
 * The CRM role restricts below the Cognito groups (see lambda/api/users.ts): it can demote or
 * deactivate a user at once; promoting above the user's Cognito group needs the group too.
 */
import { z } from '@hono/zod-openapi';
import type { Pool } from 'pg';
import { ROLES } from '../auth';
import { decodeCursor, encodeCursor, listScope } from '../cursor';
import { audit, diffOf, inTransaction } from '../db';
import { assertVersion, etag, expectedVersions } from '../http';
import { conflict, notFound } from '../problems';
import type { Router } from '../routing';
import { IdParams, IfMatchHeader, pageOf, pageQuery, queryText, text } from '../schemas/common';
import { type ActorResolver, roleOf } from '../users';

const User = z
  .object({
    id: z.uuid(),
    email: z.string(),
    displayName: z.string(),
    role: z.enum(ROLES),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    version: z.number().int(),
  })
  .openapi('User');
const UserPatch = z
  .strictObject({ role: z.enum(ROLES), displayName: text(200), active: z.boolean() })
  .partial()
  .openapi('UserPatch');
const UserQuery = z.strictObject({
  ...pageQuery,
  q: queryText(200).min(1).optional().openapi({ description: 'Substring of email or display name.' }),
});

const SELECT = `SELECT id, email, display_name AS "displayName", role, deleted_at IS NULL AS active,
  created_at AS "createdAt", updated_at AS "updatedAt", version FROM crm.users`;

type UserRow = { id: string; role: string; active: boolean; version: number } & Record<string, unknown>;

function toUser(row: UserRow) {
  return { ...row, role: roleOf(row.role) };
}

export function registerUsers(router: Router, pool: Pool, actors: ActorResolver): void {
  router.add(
    {
      method: 'get',
      path: '/v1/users',
      tag: 'Users',
      operationId: 'listUsers',
      summary: 'List CRM users by email (admins)',
      access: 'admin',
      query: UserQuery,
      ok: { 200: { description: 'One page', schema: pageOf(User, 'UserPage') } },
    },
    async (c, { query }) => {
      const params: unknown[] = [query.limit + 1];
      const where: string[] = [];
      if (query.q) {
        params.push(`%${query.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`);
        where.push(`(email ILIKE $${params.length} OR display_name ILIKE $${params.length})`);
      }
      if (query.cursor) {
        const cursor = decodeCursor(query.cursor, listScope('user:email', query));
        params.push(cursor.key, cursor.id);
        where.push(`(lower(email), id) > ($${params.length - 1}, $${params.length}::uuid)`);
      }
      const { rows } = await pool.query<UserRow & { __key: string }>(
        `${SELECT.replace(' FROM', ', lower(email) AS "__key" FROM')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY lower(email), id LIMIT $1`,
        params,
      );
      const more = rows.length > query.limit;
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return c.json(
        {
          items: page.map(({ __key: _k, ...r }) => toUser(r)),
          nextCursor:
            more && last ? encodeCursor({ sort: listScope('user:email', query), key: last.__key, id: last.id }) : null,
        },
        200,
      );
    },
  );

  router.add(
    {
      method: 'get',
      path: '/v1/users/{id}',
      tag: 'Users',
      operationId: 'getUser',
      summary: 'Get a CRM user (admins)',
      access: 'admin',
      params: IdParams,
      ok: { 200: { description: 'The user', schema: User } },
    },
    async (c, { params }) => {
      const { rows } = await pool.query<UserRow>(`${SELECT} WHERE id = $1`, [params.id]);
      if (!rows[0]) throw notFound('No user with this id.');
      return c.body(JSON.stringify(toUser(rows[0])), 200, {
        'Content-Type': 'application/json',
        ETag: etag(rows[0].version),
      });
    },
  );

  router.add(
    {
      method: 'patch',
      path: '/v1/users/{id}',
      tag: 'Users',
      operationId: 'updateUser',
      summary: 'Change a user’s role, name or active flag (admins; If-Match)',
      access: 'admin',
      params: IdParams,
      headers: IfMatchHeader,
      body: UserPatch,
      ok: { 200: { description: 'Updated', schema: User } },
      problems: [404, 409, 412, 428],
    },
    async (c, { params, body }) => {
      const expected = expectedVersions(c);
      const actor = c.get('actor')!;
      if (params.id === actor.userId && (body.active === false || (body.role && body.role !== 'admin'))) {
        throw conflict('Admins cannot demote or deactivate themselves; ask another admin.');
      }
      const user = await inTransaction(pool, async (db) => {
        const { rows } = await db.query<UserRow>(`${SELECT} WHERE id = $1 FOR UPDATE`, [params.id]);
        const before = rows[0] ? toUser(rows[0]) : undefined;
        if (!before) throw notFound('No user with this id.');
        assertVersion(expected, before.version);
        const sets: string[] = [];
        const values: unknown[] = [params.id];
        const set = (column: string, value: unknown) => {
          values.push(value);
          sets.push(`${column} = $${values.length}`);
        };
        if (body.role !== undefined) set('role', body.role);
        if (body.displayName !== undefined) set('display_name', body.displayName);
        if (body.active !== undefined)
          sets.push(`deleted_at = ${body.active ? 'NULL' : 'coalesce(deleted_at, now())'}`);
        if (sets.length === 0) return before;
        const updated = await db.query<UserRow>(
          `UPDATE crm.users SET ${sets.join(', ')} WHERE id = $1 RETURNING id`,
          values,
        );
        const after = toUser((await db.query<UserRow>(`${SELECT} WHERE id = $1`, [updated.rows[0].id])).rows[0]);
        await audit(db, {
          actor: actor.userId,
          action: 'user.update',
          entity: 'user',
          entityId: params.id,
          diff: diffOf(before, after),
        });
        return after;
      });
      actors.forget(params.id);
      return c.body(JSON.stringify(user), 200, { 'Content-Type': 'application/json', ETag: etag(user.version) });
    },
  );
}
