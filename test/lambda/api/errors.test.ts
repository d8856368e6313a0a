import { type ApiFixture, type ApiResponse, type Caller, startApiFixture } from './fixture';

let api: ApiFixture;
let admin: Caller;
let sales: Caller;

beforeAll(async () => {
  api = await startApiFixture({ maxBodyBytes: 4096 });
  admin = await api.caller('admin');
  sales = await api.caller('sales');
});
afterAll(async () => api.close());

function expectProblem(res: ApiResponse, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body).toMatchObject({
    status,
    type: 'about:blank',
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
}

describe('problem+json errors', () => {
  it('400 for malformed JSON', async () => {
    const res = await api.request('POST', '/v1/companies', {
      as: admin,
      rawBody: '{"name": "x",',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(res, 400);
  });

  it('400 for a tampered cursor', async () => {
    expectProblem(await api.request('GET', '/v1/companies?cursor=bm90LWEtY3Vyc29y', { as: admin }), 400);
  });

  it('401 without a token, with a bad signature, or with a garbage header', async () => {
    expectProblem(await api.request('GET', '/v1/companies'), 401);
    const forged = `${admin.token.slice(0, -4)}AAAA`;
    expectProblem(await api.request('GET', '/v1/companies', { headers: { authorization: `Bearer ${forged}` } }), 401);
    expectProblem(await api.request('GET', '/v1/companies', { headers: { authorization: 'Basic Zm9vOmJhcg==' } }), 401);
  });

  it('403 for a caller in no CRM group', async () => {
    const outsider = await api.caller('none');
    expectProblem(await api.request('GET', '/v1/companies', { as: outsider }), 403);
  });

  it('404 for an unknown id, a non-UUID id and an unknown route', async () => {
    expectProblem(await api.request('GET', '/v1/companies/6f1c1a57-0000-4000-8000-000000000000', { as: admin }), 404);
    expectProblem(await api.request('GET', "/v1/companies/1'%20OR%20'1'='1", { as: admin }), 404);
    expectProblem(await api.request('GET', '/v1/nope', { as: admin }), 404);
  });

  it('405 with Allow for a method the collection does not answer, e.g. PUT', async () => {
    const res = await api.request('PUT', '/v1/companies', { as: admin, body: { name: 'Put Co' } });
    expectProblem(res, 405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(res.body).toMatchObject({
      code: 'METHOD_NOT_ALLOWED',
      detail: expect.stringMatching(/^PUT is not allowed/),
    });
    // Nothing was created.
    const { rows } = await api.pool.query("SELECT count(*)::int AS n FROM crm.companies WHERE name = 'Put Co'");
    expect(rows[0].n).toBe(0);
  });

  it('405 with Allow for every method a documented path does not answer; 404 for a path that does not exist', async () => {
    const doc = (await api.request('GET', '/v1/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const id = '6f1c1a57-0000-4000-8000-000000000000';
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      const served = Object.keys(ops).map((m) => m.toUpperCase());
      const expected = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].filter(
        (m) => served.includes(m) || (m === 'HEAD' && served.includes('GET')),
      );
      const url = path.replace(/\{[A-Za-z]+\}/g, id);
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        if (served.includes(method)) continue;
        const res = await api.request(method, url, { as: admin });
        expect({ method, path, status: res.status, allow: res.headers.get('allow') }).toEqual({
          method,
          path,
          status: 405,
          allow: expected.join(', '),
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
    // The document itself, and paths no route has.
    expect((await api.request('POST', '/v1/openapi.json')).headers.get('allow')).toBe('GET, HEAD');
    expectProblem(await api.request('PUT', '/v1/nope', { as: admin }), 404);
    expectProblem(await api.request('PUT', `/v1/companies/${id}/nope`, { as: admin }), 404);
  });

  it('409 for a duplicate domain names the existing company', async () => {
    const first = await api.request('POST', '/v1/companies', {
      as: admin,
      body: { name: 'Dup One', domain: 'dup-test.com' },
    });
    const second = await api.request('POST', '/v1/companies', {
      as: admin,
      body: { name: 'Dup Two', domain: 'HTTPS://WWW.Dup-Test.com/about' },
    });
    expectProblem(second, 409);
    expect(second.body.existingId).toBe(first.body.id);
  });

  it('412 for a stale If-Match and 428 without one', async () => {
    const created = await api.request('POST', '/v1/companies', { as: admin, body: { name: 'Versioned' } });
    const path = `/v1/companies/${created.body.id}`;
    expectProblem(await api.request('PATCH', path, { as: admin, body: { name: 'V2' } }), 428);
    expectProblem(await api.request('DELETE', path, { as: admin }), 428);
    const ok = await api.request('PATCH', path, { as: admin, body: { name: 'V2' }, headers: { 'if-match': '"1"' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).toBe('"2"');
    expectProblem(
      await api.request('PATCH', path, { as: admin, body: { name: 'V3' }, headers: { 'if-match': '"1"' } }),
      412,
    );
    expectProblem(await api.request('DELETE', path, { as: admin, headers: { 'if-match': 'W/"garbage"' } }), 412);
  });

  it('413 for a body over the limit', async () => {
    const res = await api.request('POST', '/v1/companies', { as: admin, body: { name: 'x'.repeat(5000) } });
    expectProblem(res, 413);
  });

  it('415 for a body that is not JSON', async () => {
    const res = await api.request('POST', '/v1/companies', {
      as: admin,
      rawBody: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectProblem(res, 415);
  });

  it('422 lists every invalid field', async () => {
    const res = await api.request('POST', '/v1/contacts', {
      as: admin,
      body: { firstName: 'A', email: 'not-an-email', phone: '12', marketingConsent: 'maybe', extra: 1 },
    });
    expectProblem(res, 422);
    const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(expect.arrayContaining(['email', 'marketingConsent', 'phone']));
    expect(res.body.errors).toEqual(
      expect.arrayContaining([{ field: 'extra', message: expect.stringMatching(/^Unknown field/) }]),
    );
  });

  it('422 for an unknown query parameter or an out-of-range limit', async () => {
    expectProblem(await api.request('GET', '/v1/companies?limit=201', { as: admin }), 422);
    expectProblem(await api.request('GET', '/v1/companies?sort=password', { as: admin }), 422);
    const unknown = await api.request('GET', '/v1/companies?bogus=1', { as: admin });
    expectProblem(unknown, 422);
    expect(unknown.body.errors).toEqual([{ field: 'query.bogus', message: expect.stringMatching(/^Unknown field/) }]);
  });

  it('does not leak SQL or stack traces', async () => {
    const res = await api.request('POST', '/v1/deals', {
      as: sales,
      body: { name: 'Bad stage', stageId: '6f1c1a57-0000-4000-8000-000000000000' },
    });
    expectProblem(res, 422);
    expect(res.text).not.toMatch(/SELECT|INSERT|crm\.|at .*\.ts/);
  });
});

describe('headers on every response', () => {
  it('X-Request-Id, nosniff and no-store on successes, problems and unknown routes', async () => {
    const created = await api.request('POST', '/v1/companies', { as: admin, body: { name: 'Header Co' } });
    expect(created.status).toBe(201);
    const responses = [
      created,
      await api.request('GET', `/v1/companies/${created.body.id}`, { as: admin }),
      await api.request('GET', '/v1/companies?limit=1', { as: admin }),
      await api.request('GET', '/v1/health'),
      await api.request('GET', '/v1/companies'),
      await api.request('GET', '/v1/no-such-route', { as: admin }),
      await api.request('POST', '/v1/companies', { as: admin, body: { name: 'x'.repeat(5000) } }),
      await api.request('GET', '/v1/openapi.json'),
    ];
    expect(responses.map((r) => r.status)).toEqual([201, 200, 200, 200, 401, 404, 413, 200]);
    const ids = new Set<string>();
    for (const res of responses) {
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      ids.add(res.headers.get('x-request-id')!);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    expect(ids.size).toBe(responses.length);
    expect(created.headers.get('etag')).toBe('"1"');
    expect(created.headers.get('location')).toBe(`/v1/companies/${created.body.id}`);
  });
});

describe('health and OpenAPI', () => {
  it('GET /v1/health needs no token and checks the database', async () => {
    const res = await api.request('GET', '/v1/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'ok' });
  });

  it('serves an OpenAPI 3.1 document listing every route', async () => {
    const res = await api.request('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = JSON.parse(res.text);
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, m]) =>
      Object.keys(m).map((verb) => `${verb.toUpperCase()} ${p}`),
    );
    for (const r of ['companies', 'contacts', 'deals', 'activities', 'pipelines']) {
      expect(ops).toEqual(
        expect.arrayContaining([
          `GET /v1/${r}`,
          `POST /v1/${r}`,
          `GET /v1/${r}/{id}`,
          `PATCH /v1/${r}/{id}`,
          `DELETE /v1/${r}/{id}`,
          `POST /v1/${r}/{id}/restore`,
        ]),
      );
    }
    expect(ops).toEqual(
      expect.arrayContaining([
        'GET /v1/health',
        'GET /v1/me',
        'GET /v1/users',
        'PATCH /v1/users/{id}',
        'POST /v1/pipelines/{id}/stages',
        'GET /v1/deals/{id}/stage-history',
      ]),
    );
    expect(doc.components.schemas.Problem).toBeDefined();
  });
});
