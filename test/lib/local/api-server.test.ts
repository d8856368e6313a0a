/**
 * The local API server over real keep-alive HTTP/1.1 connections: a 413 must not leave the
 * connection in a state where the client's next request fails.
 */

import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { runMigrations } from '../../../lambda/migrate/runner';
import { type LocalApiServer, startLocalApiServer } from '../../../lib/local/api-server';
import { signDevToken } from '../../../lib/local/dev-auth';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';

let db: TestDatabase;
let server: LocalApiServer;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase('crm_local_api');
  await runMigrations(db.pool);
  const secret = randomBytes(32).toString('base64url');
  server = await startLocalApiServer({
    databaseUrl: db.url,
    authSecret: secret,
    poolMax: 2,
    limits: { maxBodyBytes: 1024 },
  });
  token = await signDevToken(secret, { sub: 'keepalive-user', email: 'keepalive@example.com', groups: ['admin'] });
});
afterAll(async () => {
  await server.close();
  await db.drop();
});

interface Reply {
  readonly status: number;
  /** The request went out on a socket an earlier request had used (keep-alive). */
  readonly reused: boolean;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function send(agent: Agent, method: string, path: string, body?: string, chunked = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      if (!chunked) headers['content-length'] = String(Buffer.byteLength(body));
    }
    const req = request(`${server.url}${path}`, { method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, headers: res.headers, body: text }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) {
      if (chunked) {
        // Several writes without Content-Length: Transfer-Encoding: chunked.
        for (let i = 0; i < body.length; i += 512) req.write(body.slice(i, i + 512));
      } else {
        req.write(body);
      }
    }
    req.end();
  });
}

describe.each([
  ['with Content-Length', false],
  ['chunked', true],
])('a keep-alive client after a 413 (%s)', (_name, chunked) => {
  it.each([20_000, 5_000_000])('gets its next request answered (body of %d bytes)', async (size) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = JSON.stringify({ name: 'x'.repeat(size) });
      const tooLarge = await send(agent, 'POST', '/v1/companies', big, chunked);
      expect(tooLarge.status).toBe(413);
      expect(JSON.parse(tooLarge.body)).toMatchObject({ status: 413 });
      expect(tooLarge.headers.connection).toBe('close');
      const next = await send(agent, 'POST', '/v1/companies', JSON.stringify({ name: 'After the 413' }));
      expect(next.status).toBe(201);
      expect(JSON.parse(next.body)).toMatchObject({ name: 'After the 413' });
      expect(next.reused).toBe(false);
    } finally {
      agent.destroy();
    }
  });
});

describe('connections that are not cut short', () => {
  it('stay open after a request whose body was read', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(agent, 'POST', '/v1/companies', JSON.stringify({ name: 'Kept alive' }));
      expect(first.status).toBe(201);
      expect(first.headers.connection).toBe('keep-alive');
      const second = await send(agent, 'GET', '/v1/companies?limit=1');
      expect(second.status).toBe(200);
      expect(second.reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });
});

describe('fetch (undici keep-alive pool) after a 413', () => {
  it('answers the next request', async () => {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const tooLarge = await fetch(`${server.url}/v1/companies`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'y'.repeat(1_000_000) }),
    });
    expect(tooLarge.status).toBe(413);
    await tooLarge.text();
    const next = await fetch(`${server.url}/v1/companies`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'After fetch 413' }),
    });
    expect(next.status).toBe(201);
  });
});
