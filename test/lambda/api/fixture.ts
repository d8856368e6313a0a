/**
 * Fixture for the API tests: one fresh database (migrated by the project's runner) and one real
 * HTTP server per test file, plus helpers to call it as a given user.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { Identity, Role } from '../../../lambda/api/auth';
import { runMigrations } from '../../../lambda/migrate/runner';
import { type LocalApiServer, startLocalApiServer } from '../../../lib/local/api-server';
import { signDevToken } from '../../../lib/local/dev-auth';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';

// biome-ignore lint/suspicious/noExplicitAny: tests assert response bodies field by field
export interface ApiResponse<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
  readonly text: string;
}

export interface Caller {
  readonly identity: Identity;
  readonly token: string;
  /** users.id, known after the first request (GET /v1/me). */
  userId: string;
}

export interface ApiFixture {
  readonly db: TestDatabase;
  readonly server: LocalApiServer;
  readonly secret: string;
  readonly url: string;
  /** Owner pool for assertions on the database. */
  readonly pool: Pool;
  caller(role: Role | 'none', name?: string): Promise<Caller>;
  // biome-ignore lint/suspicious/noExplicitAny: tests assert response bodies field by field
  request<T = any>(
    method: string,
    path: string,
    opts?: { as?: Caller; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  ): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

export async function startApiFixture(opts: { maxBodyBytes?: number } = {}): Promise<ApiFixture> {
  const db = await createTestDatabase('crm_api');
  await runMigrations(db.pool);
  const secret = randomBytes(32).toString('base64url');
  const server = await startLocalApiServer({
    databaseUrl: db.url,
    authSecret: secret,
    poolMax: 8,
    ...(opts.maxBodyBytes ? { limits: { maxBodyBytes: opts.maxBodyBytes } } : {}),
  });

  const fixture: ApiFixture = {
    db,
    server,
    secret,
    url: server.url,
    pool: db.pool,
    async caller(role, name = role) {
      const identity: Identity = {
        sub: randomUUID(),
        email: `${name}-${randomBytes(3).toString('hex')}@example.com`,
        groups: role === 'none' ? ['some-other-group'] : [role],
      };
      const token = await signDevToken(secret, identity);
      const caller: Caller = { identity, token, userId: '' };
      if (role !== 'none') {
        const me = await fixture.request('GET', '/v1/me', { as: caller });
        if (me.status !== 200) throw new Error(`GET /v1/me as ${role}: ${me.status} ${me.text}`);
        caller.userId = me.body.id;
      }
      return caller;
    },
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.as) headers.authorization = `Bearer ${o.as.token}`;
      let body: string | undefined = o.rawBody;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${server.url}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      // biome-ignore lint/suspicious/noExplicitAny: tests assert response bodies field by field
      return { status: res.status, headers: res.headers, body: parsed as any, text };
    },
    async close() {
      await server.close();
      await db.drop();
    },
  };
  return fixture;
}
