/**
 * The Lambda entry point with API Gateway REST proxy events shaped like the real ones (Cognito
 * authorizer claims), against the test database; and the bundle: no dev-auth code in it.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { build } from 'esbuild';
import { configFromEnv, createApiHandler, proxyConnectionOptions } from '../../../lambda/api/handler';
import { runMigrations } from '../../../lambda/migrate/runner';
import { createLocalAppPool } from '../../../lib/local/api-server';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';

let db: TestDatabase;
let pool: ReturnType<typeof createLocalAppPool>;
let handler: ReturnType<typeof createApiHandler>;

const context = {
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  functionName: 'crm-api',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:crm-api',
  memoryLimitInMB: '512',
  logGroupName: '/aws/lambda/crm-api',
  logStreamName: '2026/11/28/[$LATEST]abcdef',
  getRemainingTimeInMillis: () => 29_000,
} as unknown as Context;

/** A REST API (v1) proxy event as API Gateway sends it with a Cognito user pool authorizer. */
function restEvent(
  method: string,
  path: string,
  opts: {
    claims?: Record<string, string>;
    body?: unknown;
    query?: Record<string, string>;
    headers?: Record<string, string>;
  } = {},
): APIGatewayProxyEvent {
  const headers = {
    Accept: 'application/json',
    Host: 'abc123.execute-api.eu-west-1.amazonaws.com',
    'X-Forwarded-Proto': 'https',
    ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
    ...(opts.headers ?? {}),
  };
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: opts.query ?? null,
    multiValueQueryStringParameters: opts.query
      ? Object.fromEntries(Object.entries(opts.query).map(([k, v]) => [k, [v]]))
      : null,
    pathParameters: { proxy: path.replace(/^\//, '') },
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: opts.claims ? { claims: opts.claims } : undefined,
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      extendedRequestId: 'Ab1CdEfGhIjKlMn=',
      httpMethod: method,
      identity: { sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
      path: `/prod${path}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTime: '28/Nov/2026:08:00:00 +0000',
      requestTimeEpoch: 1795852800000,
      resourceId: 'a1b2c3',
      resourcePath: '/{proxy+}',
      stage: 'prod',
    },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : null,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
}

/** A response header, from headers or multiValueHeaders (hono answers v1 events with both shapes). */
function header(
  res: { headers?: Record<string, unknown>; multiValueHeaders?: Record<string, unknown[]> },
  name: string,
) {
  const find = (h: Record<string, unknown> | undefined) =>
    h ? Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1] : undefined;
  const single = find(res.headers);
  if (single !== undefined) return String(single);
  const multi = find(res.multiValueHeaders) as unknown[] | undefined;
  return multi ? String(multi[0]) : undefined;
}

function claims(groups: string, sub = randomUUID()) {
  return {
    sub,
    email: `${sub.slice(0, 8)}@example.com`,
    'cognito:groups': groups,
    'cognito:username': sub,
    token_use: 'id',
    auth_time: '1795852800',
    iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example',
  };
}

beforeAll(async () => {
  db = await createTestDatabase('crm_api_lambda');
  await runMigrations(db.pool);
  pool = createLocalAppPool(db.url, 2);
  handler = createApiHandler(pool);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

describe('Lambda handler (REST proxy events, Cognito authorizer)', () => {
  it('creates and reads a company as a sales user whose groups arrive as "[sales]"', async () => {
    const who = claims('[sales]');
    const created = await handler(
      restEvent('POST', '/v1/companies', { claims: who, body: { name: 'Lambda Co' } }),
      context,
    );
    expect(created.statusCode).toBe(201);
    const body = JSON.parse(created.body);
    expect(header(created, 'etag')).toBe('"1"');
    const read = await handler(restEvent('GET', `/v1/companies/${body.id}`, { claims: who }), context);
    expect(read.statusCode).toBe(200);
    expect(JSON.parse(read.body).name).toBe('Lambda Co');
  });

  it('takes the highest role from a multi-group claim like "[readonly, admin]"', async () => {
    const res = await handler(restEvent('GET', '/v1/users', { claims: claims('[readonly, admin]') }), context);
    expect(res.statusCode).toBe(200);
  });

  it('answers 401 when the authorizer passed no claims, with API Gateway’s request id', async () => {
    const event = restEvent('GET', '/v1/companies');
    const res = await handler(event, context);
    expect(res.statusCode).toBe(401);
    expect(header(res, 'content-type')).toBe('application/problem+json');
    expect(JSON.parse(res.body).requestId).toBe(event.requestContext.requestId);
  });

  it('answers 403 for a single group outside the CRM ("guests")', async () => {
    const res = await handler(restEvent('GET', '/v1/companies', { claims: claims('guests') }), context);
    expect(res.statusCode).toBe(403);
  });

  it('passes query strings through (list with q and limit)', async () => {
    const res = await handler(
      restEvent('GET', '/v1/companies', { claims: claims('readonly'), query: { q: 'lambda', limit: '5' } }),
      context,
    );
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).items.map((i: { name: string }) => i.name)).toEqual(['Lambda Co']);
  });

  it('serves the unauthenticated health check', async () => {
    const res = await handler(restEvent('GET', '/v1/health'), context);
    expect(res.statusCode).toBe(200);
  });
});

describe('configuration', () => {
  it('reads the environment with documented defaults', () => {
    expect(configFromEnv({ DB_PROXY_ENDPOINT: 'proxy.example' })).toEqual({
      host: 'proxy.example',
      port: 5432,
      database: 'crm',
      user: 'crm_app',
      poolMax: 2,
      statementTimeoutMs: 5000,
      maxBodyBytes: 65536,
    });
  });

  it('names the bad variable', () => {
    expect(() => configFromEnv({})).toThrow(/DB_PROXY_ENDPOINT/);
    expect(() => configFromEnv({ DB_PROXY_ENDPOINT: 'p', DB_POOL_MAX: 'two' })).toThrow(/DB_POOL_MAX/);
  });

  it('signs an IAM token per connection attempt and verifies TLS', async () => {
    let calls = 0;
    const opts = proxyConnectionOptions(configFromEnv({ DB_PROXY_ENDPOINT: 'proxy.example' }), {
      getAuthToken: async () => `token-${++calls}`,
    });
    expect(opts.tls).toBe('verify-full');
    const password = opts.password as () => Promise<string>;
    expect(await password()).toBe('token-1');
    expect(await password()).toBe('token-2');
  });
});

describe('bundle', () => {
  it('contains no dev-auth code (local tokens cannot work in AWS)', async () => {
    const result = await build({
      entryPoints: [join(__dirname, '../../../lambda/api/handler.ts')],
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      write: false,
      metafile: true,
      external: ['@aws-sdk/*', 'pg-native'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs.some((f) => f.includes('lambda/api/app.ts'))).toBe(true);
    expect(inputs.filter((f) => f.includes('lib/local/'))).toEqual([]);
    const code = result.outputFiles[0].text;
    expect(code).not.toContain('dev-auth-secret');
    expect(code).not.toContain('crm-dev-server');
    expect(code).not.toContain('devAuthenticator');
  });
});
