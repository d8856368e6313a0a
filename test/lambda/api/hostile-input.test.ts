/**
 * Hostile input everywhere: SQL injection, odd Unicode (emoji, RTL, combining marks, lone
 * surrogates), NUL bytes and very long strings in every query parameter and body field. The
 * answer is a 2xx (value treated literally) or a 4xx — never a 500.
 */
import fc from 'fast-check';
import { type ApiFixture, type Caller, startApiFixture } from './fixture';

let api: ApiFixture;
let admin: Caller;
let companyId: string;

/** String.prototype.toWellFormed (ES2024; the project compiles against ES2022 types): lone surrogates → U+FFFD. */
const wellFormed = (s: string): string =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

const HOSTILE = [
  "' OR '1'='1",
  "'; DROP TABLE crm.companies; --",
  '1; SELECT pg_sleep(10)',
  '" OR ""="',
  '%',
  '_',
  '\\',
  '$1',
  '😀🚀👩‍👩‍👧‍👦',
  'שלום עולם', // RTL
  '\u202Eevil\u202C',
  'e\u0301\u0301\u0301',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x'.repeat(10_000),
  '𝕏'.repeat(300),
  '-1',
  '9'.repeat(40),
  'null',
  '[]',
  '{}',
  '2026-13-45',
  'infinity',
];

// Lone surrogates cannot go into a URL (encodeURIComponent throws), so strings for URLs are made well-formed.
const hostile = fc
  .oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ maxLength: 50 }))
  .map(wellFormed);
const hostileBody = fc.oneof(hostile, fc.constant('\ud800x'), fc.string({ unit: 'binary', maxLength: 100 }));

beforeAll(async () => {
  api = await startApiFixture();
  admin = await api.caller('admin');
  const c = await api.request('POST', '/v1/companies', { as: admin, body: { name: 'Target' } });
  companyId = c.body.id;
});
afterAll(async () => api.close());

const LIST_PARAMS: Record<string, string[]> = {
  companies: [
    'q',
    'sort',
    'cursor',
    'limit',
    'owner',
    'industry',
    'countryCode',
    'createdFrom',
    'createdTo',
    'deleted',
  ],
  contacts: ['q', 'company', 'marketingConsent', 'cursor', 'sort'],
  deals: ['q', 'stage', 'pipeline', 'closeFrom', 'closeTo', 'contact', 'sort'],
  activities: ['q', 'type', 'open', 'dueFrom', 'dueTo', 'deal'],
  users: ['q', 'cursor'],
};

function notServerError(res: { status: number; text: string }) {
  expect(res.status).toBeLessThan(500);
  // Problem details never carry database text (2xx bodies may echo the caller's own input).
  if (res.status >= 400) {
    const { detail, errors } = JSON.parse(res.text);
    expect(JSON.stringify({ detail, errors })).not.toMatch(/syntax error|pg_|SQLSTATE|crm\.\w+/i);
  }
}

describe('never a 500', () => {
  it('for any value of any list query parameter', async () => {
    const pairs = Object.entries(LIST_PARAMS).flatMap(([r, ps]) => ps.map((p) => [r, p] as const));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...pairs), hostile, async ([resource, param], value) => {
        const res = await api.request('GET', `/v1/${resource}?${param}=${encodeURIComponent(value)}`, { as: admin });
        notServerError(res);
      }),
      { numRuns: 300 },
    );
  });

  it('for any value in a path id', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('companies', 'contacts', 'deals', 'activities', 'pipelines', 'users'),
        hostile,
        async (r, id) => {
          const res = await api.request('GET', `/v1/${r}/${encodeURIComponent(id)}`, { as: admin });
          notServerError(res);
        },
      ),
      { numRuns: 60 },
    );
  });

  const BODY_FIELDS: Record<string, { base: Record<string, unknown>; fields: string[] }> = {
    companies: {
      base: { name: 'Base' },
      fields: [
        'name',
        'domain',
        'industry',
        'size',
        'city',
        'countryCode',
        'annualRevenueCurrency',
        'postalCode',
        'ownerId',
      ],
    },
    contacts: {
      base: { firstName: 'Base' },
      fields: [
        'firstName',
        'lastName',
        'email',
        'phone',
        'title',
        'companyId',
        'lawfulBasis',
        'marketingConsent',
        'consentRecordedAt',
      ],
    },
    deals: { base: { name: 'Base' }, fields: ['name', 'currency', 'closeDate', 'pipelineId', 'stageId', 'companyId'] },
    activities: { base: { type: 'note', subject: 'Base' }, fields: ['type', 'subject', 'body', 'dueAt', 'companyId'] },
  };

  it('for any string in any body field of a create', async () => {
    const pairs = Object.entries(BODY_FIELDS).flatMap(([r, spec]) => spec.fields.map((f) => [r, f] as const));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...pairs), hostileBody, async ([resource, field], value) => {
        const { base } = BODY_FIELDS[resource];
        const body = resource === 'activities' ? { ...base, companyId, [field]: value } : { ...base, [field]: value };
        const res = await api.request('POST', `/v1/${resource}`, { as: admin, body });
        notServerError(res);
      }),
      { numRuns: 300 },
    );
  });

  it('for any JSON value in a PATCH', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('name', 'domain', 'city', 'annualRevenueMinor', 'size'),
        fc.jsonValue({ maxDepth: 2 }),
        async (field, value) => {
          const current = await api.request('GET', `/v1/companies/${companyId}`, { as: admin });
          const res = await api.request('PATCH', `/v1/companies/${companyId}`, {
            as: admin,
            body: { [field]: value },
            headers: { 'if-match': current.headers.get('etag')! },
          });
          notServerError(res);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('for arbitrary bytes as a JSON body and odd headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200 }),
        fc.constantFrom('"1"', '*', 'W/"x"', '""', '"99999999999999999999"', "'; --"),
        async (raw, tag) => {
          const post = await api.request('POST', '/v1/contacts', {
            as: admin,
            rawBody: raw,
            headers: { 'content-type': 'application/json', 'idempotency-key': `k-${raw.length}` },
          });
          notServerError(post);
          const patch = await api.request('PATCH', `/v1/companies/${companyId}`, {
            as: admin,
            rawBody: raw,
            headers: { 'content-type': 'application/json', 'if-match': tag },
          });
          notServerError(patch);
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('treated literally', () => {
  it.each(HOSTILE.filter((s) => !s.includes('\u0000') && s.length <= 200 && s.trim().length > 0))(
    'stores and finds the name %j as given',
    async (name) => {
      const res = await api.request('POST', '/v1/companies', { as: admin, body: { name } });
      expect(res.status).toBe(201);
      // JSON round-trips a lone surrogate as U+FFFD (UTF-8 cannot carry it).
      const expected = wellFormed(name.trim());
      expect(res.body.name).toBe(expected);
      const found = await api.request('GET', `/v1/companies?q=${encodeURIComponent(expected)}&limit=200`, {
        as: admin,
      });
      expect(found.status).toBe(200);
      expect(found.body.items.map((i: { id: string }) => i.id)).toContain(res.body.id);
    },
  );

  it('still has every table after the injection attempts', async () => {
    const { rows } = await api.pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'crm'");
    expect(rows[0].n).toBe(10);
  });
});
