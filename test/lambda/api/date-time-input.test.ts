/**
 * Dates and date-times in every query parameter, body field and sort cursor, over real HTTP on
 * PostgreSQL 18: a value PostgreSQL would refuse (year 0000, a UTC offset beyond ±15:59, a
 * month 13, ...) is the client's mistake (422 naming the field, 400 for a cursor), never a 500.
 *
 * The parameters and fields are read from the served OpenAPI document (every `format: date` or
 * `date-time`), so a date field added later is fuzzed without editing this file.
 */
import fc from 'fast-check';
import { type ApiFixture, type ApiResponse, type Caller, startApiFixture } from './fixture';

let api: ApiFixture;
let admin: Caller;
/** One live record per collection, for PATCH and as a parent of activities. */
const existing: Record<string, string> = {};

type Kind = 'date' | 'date-time';
interface Target {
  readonly method: 'GET' | 'POST' | 'PATCH';
  /** OpenAPI path, e.g. `/v1/activities/{id}`. */
  readonly path: string;
  /** Query parameter or body field. */
  readonly name: string;
  readonly kinds: readonly Kind[];
}

// biome-ignore lint/suspicious/noExplicitAny: a JSON Schema node of the OpenAPI document
type SchemaNode = any;

function kindsOf(schema: SchemaNode): Kind[] {
  if (!schema || typeof schema !== 'object') return [];
  const own = schema.format === 'date' || schema.format === 'date-time' ? [schema.format as Kind] : [];
  return [...own, ...(schema.anyOf ?? []).flatMap(kindsOf), ...(schema.oneOf ?? []).flatMap(kindsOf)];
}

let queryTargets: Target[] = [];
let bodyTargets: Target[] = [];

/** A create body for each collection with a date field (the smallest valid one). */
function baseBody(path: string): Record<string, unknown> {
  switch (path) {
    case '/v1/companies':
      return { name: 'Date Co' };
    case '/v1/contacts':
      return { firstName: 'Date' };
    case '/v1/deals':
      return { name: 'Date deal' };
    case '/v1/activities':
      return { type: 'task', subject: 'Date task', companyId: existing.companies };
    default:
      throw new Error(`no base body for ${path}: add one to date-time-input.test.ts`);
  }
}

beforeAll(async () => {
  api = await startApiFixture();
  admin = await api.caller('admin');
  for (const [collection, body] of [
    ['companies', { name: 'Parent Co' }],
    ['contacts', { firstName: 'Parent' }],
    ['deals', { name: 'Parent deal' }],
  ] as const) {
    const res = await api.request('POST', `/v1/${collection}`, { as: admin, body });
    existing[collection] = res.body.id;
  }
  const activity = await api.request('POST', '/v1/activities', {
    as: admin,
    body: { type: 'task', subject: 'Parent', companyId: existing.companies, dueAt: '2026-03-01T09:00:00Z' },
  });
  existing.activities = activity.body.id;
  // Two of each, so every list has a second page and a real cursor.
  for (const collection of ['companies', 'contacts', 'deals', 'activities']) {
    const body =
      collection === 'activities'
        ? { type: 'task', subject: 'Second', companyId: existing.companies, dueAt: '2026-04-01T09:00:00Z' }
        : collection === 'contacts'
          ? { firstName: 'Second' }
          : { name: 'Second', ...(collection === 'deals' ? { closeDate: '2026-12-31' } : {}) };
    await api.request('POST', `/v1/${collection}`, { as: admin, body });
  }

  const doc = (await api.request('GET', '/v1/openapi.json')).body;
  const components: Record<string, SchemaNode> = doc.components.schemas;
  const resolve = (s: SchemaNode): SchemaNode => (s?.$ref ? components[s.$ref.split('/').pop()] : s);
  for (const [path, ops] of Object.entries<Record<string, SchemaNode>>(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      for (const p of op.parameters ?? []) {
        const kinds = kindsOf(p.schema);
        if (p.in === 'query' && kinds.length > 0) {
          queryTargets.push({ method: method.toUpperCase() as Target['method'], path, name: p.name, kinds });
        }
      }
      const body = resolve(op.requestBody?.content?.['application/json']?.schema);
      for (const [field, schema] of Object.entries<SchemaNode>(body?.properties ?? {})) {
        const kinds = kindsOf(schema);
        if (kinds.length > 0) {
          bodyTargets.push({ method: method.toUpperCase() as Target['method'], path, name: field, kinds });
        }
      }
    }
  }
  queryTargets = queryTargets.sort((a, b) => `${a.path}${a.name}`.localeCompare(`${b.path}${b.name}`));
  bodyTargets = bodyTargets.sort((a, b) =>
    `${a.method}${a.path}${a.name}`.localeCompare(`${b.method}${b.path}${b.name}`),
  );
});
afterAll(async () => api.close());

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Strings shaped like dates and date-times, in and out of every range PostgreSQL checks. */
const dateLike: fc.Arbitrary<string> = fc
  .record({
    year: fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 1969, 1970, 2000, 9999, 10000, 294277)),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    time: fc.option(
      fc.record({
        sep: fc.constantFrom('T', 't', ' '),
        hour: fc.integer({ min: 0, max: 25 }),
        minute: fc.integer({ min: 0, max: 61 }),
        second: fc.option(fc.integer({ min: 0, max: 61 })),
        fraction: fc.option(fc.stringMatching(/^[0-9]{1,10}$/)),
        offset: fc.oneof(
          fc.constantFrom('Z', 'z', '', ' BC', 'Z BC', ' UTC', ' Europe/Paris', ' Mars/Olympus'),
          fc
            .record({
              sign: fc.constantFrom('+', '-'),
              hours: fc.integer({ min: 0, max: 30 }),
              minutes: fc.integer({ min: 0, max: 70 }),
              form: fc.constantFrom('hh:mm', 'hhmm', 'hh', 'hh:mm:ss'),
            })
            .map(({ sign, hours, minutes, form }) => {
              const hh = pad(hours, 2);
              const mm = pad(minutes, 2);
              if (form === 'hh') return `${sign}${hh}`;
              if (form === 'hhmm') return `${sign}${hh}${mm}`;
              if (form === 'hh:mm:ss') return `${sign}${hh}:${mm}:${mm}`;
              return `${sign}${hh}:${mm}`;
            }),
        ),
      }),
    ),
  })
  .map(({ year, month, day, time }) => {
    const date = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
    if (!time) return date;
    const seconds = time.second === null ? '' : `:${pad(time.second, 2)}${time.fraction ? `.${time.fraction}` : ''}`;
    return `${date}${time.sep}${pad(time.hour, 2)}:${pad(time.minute, 2)}${seconds}${time.offset}`;
  });

/** Words and forms PostgreSQL's date input also reads (or nearly). */
const SPECIAL = [
  '2024-01-01T00:00:00+20:00',
  '2024-01-01T00:00:00-23:00',
  '2000-01-01 00:00:00+16',
  '2000-01-01T00:00:00+15:59',
  '2000-01-01T00:00:00+14:01',
  '0000-01-01',
  '0000-12-31T23:59:59Z',
  '0001-01-01T00:00:00+14:00',
  '9999-12-31T23:59:59-14:00',
  '2000-02-29',
  '2001-02-29',
  '2000-01-01T24:00:00Z',
  '2000-01-01T23:59:60Z',
  'infinity',
  '-infinity',
  'epoch',
  'now',
  'today',
  'tomorrow',
  'allballs',
  'J2451187',
  '1999-01-08 04:05:06 BC',
  'January 8, 99 BC',
  '20240101',
  '2024-001',
  '2024-W01-1',
  '+002024-01-01T00:00:00Z',
  '',
  ' ',
  "2024-01-01'; DROP TABLE crm.companies; --",
  '2024-01-01\u0000',
];
const dateInput = fc.oneof(
  { weight: 6, arbitrary: dateLike },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => s.replace(/[\ud800-\udfff]/g, '')) },
);

function notServerError(res: ApiResponse, what: string): void {
  if (res.status >= 500) throw new Error(`${what}: ${res.status} ${res.text}`);
  // Problem details never carry database text.
  if (res.status >= 400) expect(res.text).not.toMatch(/SQLSTATE|time zone displacement|out of range: "|crm\.\w+/i);
}

const toUrl = (path: string) => path.replace('/{id}', (_) => `/${existing[path.split('/')[2]]}`);

describe('the date and date-time inputs found in the OpenAPI document', () => {
  it('include every known one', () => {
    const queries = queryTargets.map((t) => `${t.path}?${t.name}`);
    for (const r of ['companies', 'contacts', 'deals', 'activities']) {
      expect(queries).toEqual(expect.arrayContaining([`/v1/${r}?createdFrom`, `/v1/${r}?createdTo`]));
    }
    expect(queries).toEqual(
      expect.arrayContaining([
        '/v1/activities?dueFrom',
        '/v1/activities?dueTo',
        '/v1/deals?closeFrom',
        '/v1/deals?closeTo',
      ]),
    );
    const bodies = bodyTargets.map((t) => `${t.method} ${t.path} ${t.name}`);
    expect(bodies).toEqual(
      expect.arrayContaining([
        'POST /v1/activities dueAt',
        'POST /v1/activities completedAt',
        'PATCH /v1/activities/{id} dueAt',
        'PATCH /v1/activities/{id} completedAt',
        'POST /v1/contacts consentRecordedAt',
        'PATCH /v1/contacts/{id} consentRecordedAt',
        'POST /v1/deals closeDate',
        'PATCH /v1/deals/{id} closeDate',
      ]),
    );
  });
});

describe('never a 500', () => {
  it('for any date-like value of any date or date-time query parameter', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...queryTargets), dateInput, async (t, value) => {
        const res = await api.request(t.method, `${toUrl(t.path)}?${t.name}=${encodeURIComponent(value)}`, {
          as: admin,
        });
        notServerError(res, `${t.method} ${t.path}?${t.name}=${JSON.stringify(value)}`);
      }),
      { numRuns: 400 },
    );
  });

  it('for any date-like value of any date or date-time body field (create and PATCH)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...bodyTargets), dateInput, async (t, value) => {
        const body = t.method === 'POST' ? { ...baseBody(t.path), [t.name]: value } : { [t.name]: value };
        const res = await api.request(t.method, toUrl(t.path), {
          as: admin,
          body,
          headers: t.method === 'PATCH' ? { 'if-match': '*' } : {},
        });
        notServerError(res, `${t.method} ${t.path} ${t.name}=${JSON.stringify(value)}`);
      }),
      { numRuns: 300 },
    );
  });

  /** The sort keys of date and timestamptz sorts, which a cursor carries as PostgreSQL text. */
  const DATE_SORTS: ReadonlyArray<readonly [string, string]> = [
    ['companies', 'createdAt'],
    ['companies', '-updatedAt'],
    ['contacts', '-createdAt'],
    ['deals', 'closeDate'],
    ['deals', '-closeDate'],
    ['activities', 'dueAt'],
    ['activities', '-createdAt'],
  ];

  it('for any date-like sort key in a cursor', async () => {
    const cursors = new Map<string, [string, string | null, string]>();
    for (const [collection, sort] of DATE_SORTS) {
      const page = await api.request('GET', `/v1/${collection}?sort=${sort}&limit=1`, { as: admin });
      expect(page.body.nextCursor).toEqual(expect.any(String));
      cursors.set(`${collection}|${sort}`, JSON.parse(Buffer.from(page.body.nextCursor, 'base64url').toString('utf8')));
    }
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...DATE_SORTS), dateInput, async ([collection, sort], key) => {
        const [scope, , id] = cursors.get(`${collection}|${sort}`)!;
        const cursor = Buffer.from(JSON.stringify([scope, key, id]), 'utf8').toString('base64url');
        const res = await api.request('GET', `/v1/${collection}?sort=${sort}&limit=1&cursor=${cursor}`, { as: admin });
        notServerError(res, `GET /v1/${collection}?sort=${sort} cursor key ${JSON.stringify(key)}`);
        if (res.status >= 400) expect(res.status).toBe(400);
      }),
      { numRuns: 250 },
    );
  });
});

describe('out-of-range offsets and years', () => {
  it.each(['companies', 'contacts', 'deals', 'activities'])(
    'answers 422 naming the parameter on %s',
    async (collection) => {
      for (const value of [
        '2024-01-01T00:00:00+20:00',
        '2024-01-01T00:00:00-23:00',
        '2024-01-01T00:00:00+14:01',
        '0000-06-01',
      ]) {
        const res = await api.request('GET', `/v1/${collection}?createdFrom=${encodeURIComponent(value)}`, {
          as: admin,
        });
        expect(res.status).toBe(422);
        expect(res.body.errors).toEqual([{ field: 'query.createdFrom', message: expect.any(String) }]);
      }
    },
  );

  it('says what the rule is', async () => {
    const offset = await api.request('POST', '/v1/activities', {
      as: admin,
      body: { ...baseBody('/v1/activities'), dueAt: '2026-01-01T09:00:00+20:00' },
    });
    expect(offset.status).toBe(422);
    expect(offset.body.errors).toEqual([{ field: 'dueAt', message: 'UTC offset must be between -14:00 and +14:00' }]);
    const year = await api.request('POST', '/v1/deals', { as: admin, body: { name: 'Y0', closeDate: '0000-01-01' } });
    expect(year.status).toBe(422);
    expect(year.body.errors).toEqual([{ field: 'closeDate', message: expect.stringMatching(/year 0000/) }]);
  });

  it('accepts the extreme offsets and years PostgreSQL stores, and filters with them', async () => {
    for (const dueAt of ['2026-06-01T00:00:00+14:00', '2026-06-01T00:00:00-14:00', '0001-01-01T00:00:00Z']) {
      const res = await api.request('POST', '/v1/activities', {
        as: admin,
        body: { ...baseBody('/v1/activities'), subject: 'Extreme offset', dueAt },
      });
      expect(res.status).toBe(201);
      expect(new Date(res.body.dueAt).getTime()).toBe(new Date(dueAt).getTime());
    }
    const from = await api.request(
      'GET',
      `/v1/activities?q=Extreme&dueFrom=${encodeURIComponent('2026-06-01T00:00:00-14:00')}`,
      {
        as: admin,
      },
    );
    expect(from.status).toBe(200);
    expect(from.body.items.map((i: { dueAt: string }) => i.dueAt)).toEqual(['2026-06-01T14:00:00.000Z']);
  });

  it('answers 400 for a cursor whose timestamp key PostgreSQL could not read', async () => {
    const page = await api.request('GET', '/v1/companies?sort=createdAt&limit=1', { as: admin });
    const [scope, , id] = JSON.parse(Buffer.from(page.body.nextCursor, 'base64url').toString('utf8'));
    for (const key of ['2000-01-01 00:00:00+16', '0000-01-01 00:00:00+00', '2000-13-01 00:00:00+00']) {
      const cursor = Buffer.from(JSON.stringify([scope, key, id]), 'utf8').toString('base64url');
      const res = await api.request('GET', `/v1/companies?sort=createdAt&limit=1&cursor=${cursor}`, { as: admin });
      expect(res.status).toBe(400);
      expect(res.body.detail).toBe('cursor is malformed.');
    }
  });
});
