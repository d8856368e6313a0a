import { activitiesSpec } from '../../../lambda/api/resources/activities';
import { companiesSpec } from '../../../lambda/api/resources/companies';
import { contactsSpec } from '../../../lambda/api/resources/contacts';
import { dealsSpec } from '../../../lambda/api/resources/deals';
import { type ApiFixture, type ApiResponse, type Caller, startApiFixture } from './fixture';

let api: ApiFixture;
let sales: Caller;
let manager: Caller;

beforeAll(async () => {
  api = await startApiFixture();
  sales = await api.caller('sales');
  manager = await api.caller('manager');
  // 120 companies, several sharing a name (so the id tiebreak matters) and a created_at.
  await api.pool.query(
    `INSERT INTO crm.companies (name, domain, industry, owner_id, created_at)
     SELECT 'Firm ' || (g % 40), 'firm' || g || '.test', CASE WHEN g % 2 = 0 THEN 'Software' ELSE 'Retail' END,
            CASE WHEN g % 3 = 0 THEN $1::uuid ELSE $2::uuid END, '2026-01-01'::timestamptz + (g / 4) * interval '1 second'
     FROM generate_series(1, 120) g`,
    [sales.userId, manager.userId],
  );
});
afterAll(async () => api.close());

async function pageAll(query: string, between?: (page: number) => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res: ApiResponse = await api.request(
      'GET',
      `/v1/companies?${query}&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { as: sales },
    );
    expect(res.status).toBe(200);
    ids.push(...res.body.items.map((i: { id: string }) => i.id));
    cursor = res.body.nextCursor;
    if (!cursor) break;
    if (between) await between(page);
  }
  return ids;
}

describe('keyset pagination', () => {
  it.each(['sort=name', 'sort=-name', 'sort=createdAt', 'sort=-createdAt', 'sort=-updatedAt'])(
    'never repeats or skips a row while rows are inserted between pages (%s)',
    async (sort) => {
      const { rows } = await api.pool.query<{ id: string }>('SELECT id FROM crm.companies WHERE deleted_at IS NULL');
      const before = new Set(rows.map((r) => r.id));
      let n = 0;
      const seen = await pageAll(sort, async () => {
        // New rows sort before, between and after the current page.
        await api.pool.query(
          `INSERT INTO crm.companies (name, owner_id, created_at) VALUES
             ('AAA new ' || $1::text, $2, '2025-01-01'), ('Firm 2 new ' || $1::text, $2, '2026-01-01 00:00:10'),
             ('zzz new ' || $1::text, $2, now())`,
          [`${sort}-${n++}`, manager.userId],
        );
      });
      expect(new Set(seen).size).toBe(seen.length); // no repeats
      for (const id of before) expect(seen).toContain(id); // no skips
    },
  );

  it('orders rows with equal sort keys by id', async () => {
    const res: ApiResponse = await api.request('GET', '/v1/companies?sort=name&q=Firm%201&limit=200', { as: sales });
    const items: { name: string; id: string }[] = res.body.items;
    let ties = 0;
    for (let i = 1; i < items.length; i++) {
      if (items[i].name !== items[i - 1].name) continue;
      ties++;
      expect(items[i].id > items[i - 1].id).toBe(true);
    }
    expect(ties).toBeGreaterThan(10);
    // Equal names are contiguous.
    const names = items.map((i) => i.name);
    expect(new Set(names).size).toBe(names.filter((n, i) => i === 0 || n !== names[i - 1]).length);
  });

  it('refuses a cursor issued for another sort', async () => {
    const first = await api.request('GET', '/v1/companies?sort=name&limit=2', { as: sales });
    const res: ApiResponse = await api.request('GET', `/v1/companies?sort=-createdAt&cursor=${first.body.nextCursor}`, {
      as: sales,
    });
    expect(res.status).toBe(400);
  });

  it('refuses a cursor replayed with other filters, and allows another page size', async () => {
    const first = await api.request('GET', '/v1/companies?sort=name&limit=2&owner=me', { as: sales });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const widened: ApiResponse = await api.request(
      'GET',
      `/v1/companies?sort=name&limit=2&cursor=${first.body.nextCursor}`,
      { as: sales },
    );
    expect(widened.status).toBe(400);
    expect(widened.body.detail).toMatch(/different filters/);
    const bigger: ApiResponse = await api.request(
      'GET',
      `/v1/companies?sort=name&limit=5&owner=me&cursor=${first.body.nextCursor}`,
      { as: sales },
    );
    expect(bigger.status).toBe(200);
  });

  it('refuses an owner=me cursor to a different user, who may page their own me list', async () => {
    const mine = await api.request('GET', '/v1/companies?sort=name&limit=2&owner=me', { as: sales });
    expect(mine.body.nextCursor).toEqual(expect.any(String));
    const other: ApiResponse = await api.request(
      'GET',
      `/v1/companies?sort=name&limit=2&owner=me&cursor=${mine.body.nextCursor}`,
      { as: manager },
    );
    expect(other.status).toBe(400);
    expect(other.body.detail).toMatch(/different filters/);
    // The manager's own owner=me list pages as usual, and only through the manager's records.
    const theirs = await api.request('GET', '/v1/companies?sort=name&limit=2&owner=me', { as: manager });
    const next: ApiResponse = await api.request(
      'GET',
      `/v1/companies?sort=name&limit=2&owner=me&cursor=${theirs.body.nextCursor}`,
      { as: manager },
    );
    expect(next.status).toBe(200);
    expect(next.body.items.length).toBeGreaterThan(0);
    for (const item of next.body.items) expect(item.ownerId).toBe(manager.userId);
    // owner=me and the caller's own id are the same list.
    const byId: ApiResponse = await api.request(
      'GET',
      `/v1/companies?sort=name&limit=2&owner=${sales.userId}&cursor=${mine.body.nextCursor}`,
      { as: sales },
    );
    expect(byId.status).toBe(200);
  });

  it('refuses a cursor from another resource', async () => {
    const companies = await api.request('GET', '/v1/companies?limit=2', { as: sales });
    const res: ApiResponse = await api.request('GET', `/v1/contacts?limit=2&cursor=${companies.body.nextCursor}`, {
      as: sales,
    });
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/different list/);
  });
});

describe('filters and search', () => {
  it('filters by owner=me and industry', async () => {
    const res: ApiResponse = await api.request('GET', '/v1/companies?owner=me&industry=Software&limit=200', {
      as: sales,
    });
    expect(res.body.items.length).toBeGreaterThan(0);
    for (const item of res.body.items) expect(item).toMatchObject({ ownerId: sales.userId, industry: 'Software' });
  });

  it('matches industry and countryCode case-insensitively', async () => {
    await api.pool.query(
      "INSERT INTO crm.companies (name, industry, country_code, owner_id) VALUES ('Case Co', 'Mixed Case', 'DE', $1)",
      [sales.userId],
    );
    const ids = async (query: string) => {
      const res: ApiResponse = await api.request('GET', `/v1/companies?${query}&limit=200`, { as: sales });
      expect(res.status).toBe(200);
      return res.body.items.map((i: { name: string }) => i.name);
    };
    for (const industry of ['Mixed Case', 'mixed case', 'MIXED CASE', ' mixed CASE ']) {
      expect(await ids(`industry=${encodeURIComponent(industry)}`)).toEqual(['Case Co']);
    }
    expect(await ids('industry=mixed')).toEqual([]); // whole value, not a substring
    for (const code of ['DE', 'de', 'De']) expect(await ids(`countryCode=${code}`)).toEqual(['Case Co']);
    const software = await ids('industry=software');
    expect(software.length).toBe(60);
    expect(await ids('industry=SOFTWARE')).toEqual(software);
  });

  it('filters industry through the lower(industry) index of migration 0008', async () => {
    const filter = companiesSpec.filters.find((f) => f.param === 'industry')!;
    const client = await api.pool.connect();
    try {
      await client.query('BEGIN');
      // A 120-row table is cheaper to scan; this asks whether the index can serve the filter at all.
      await client.query('SET LOCAL enable_seqscan = off');
      const { rows } = await client.query(
        `EXPLAIN (FORMAT JSON) SELECT t.id FROM crm.companies t WHERE t.deleted_at IS NULL AND ${filter.where('$1')}
         ORDER BY t.created_at DESC, t.id DESC LIMIT 51`,
        ['software'],
      );
      expect(JSON.stringify(rows[0]['QUERY PLAN'])).toContain('companies_lower_industry_created_at_id_idx');
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('filters by a created date range', async () => {
    const res: ApiResponse = await api.request(
      'GET',
      '/v1/companies?createdFrom=2026-01-01T00:00:05Z&createdTo=2026-01-01T00:00:06Z',
      { as: sales },
    );
    expect(res.body.items.length).toBe(4);
  });

  it('searches names and domains case-insensitively, treating % and _ literally', async () => {
    const byDomain = await api.request('GET', '/v1/companies?q=FIRM117.TE&limit=10', { as: sales });
    expect(byDomain.body.items.map((i: { domain: string }) => i.domain)).toEqual(['firm117.test']);
    const wildcard = await api.request('GET', '/v1/companies?q=%25', { as: sales });
    expect(wildcard.status).toBe(200);
    expect(wildcard.body.items).toHaveLength(0);
  });

  it('filters deals by stage and contacts by company', async () => {
    const company = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Filter Co' } });
    await api.request('POST', '/v1/contacts', { as: sales, body: { lastName: 'One', companyId: company.body.id } });
    const contacts = await api.request('GET', `/v1/contacts?company=${company.body.id}`, { as: sales });
    expect(contacts.body.items).toHaveLength(1);
    const deal = await api.request('POST', '/v1/deals', {
      as: sales,
      body: { name: 'Filter deal', closeDate: '2027-03-01' },
    });
    const deals = await api.request('GET', `/v1/deals?stage=${deal.body.stageId}&closeFrom=2027-01-01`, { as: sales });
    expect(deals.body.items.map((d: { id: string }) => d.id)).toEqual([deal.body.id]);
    expect(deals.body.items[0].closeDate).toBe('2027-03-01');
  });
});

describe('q search planning', () => {
  // '%term%' estimates come from histogram hits; with the default 100 entries a rare term's plan
  // flipped between a trigram bitmap scan (~1 ms) and walking the sort index (~40-120 ms on 100k
  // contacts) from one ANALYZE to the next. Migration 0006 raises the target on every searched
  // column (pipelines excepted: a handful of rows, always read whole).
  it('every searched column of the large tables has a statistics target of 500', async () => {
    const wanted = [contactsSpec, companiesSpec, dealsSpec, activitiesSpec].flatMap((spec) =>
      (spec.search ?? []).map((column) => ({ table: spec.table, column })),
    );
    expect(wanted.length).toBeGreaterThanOrEqual(7);
    for (const { table, column } of wanted) {
      const { rows } = await api.pool.query<{ target: number }>(
        'SELECT attstattarget AS target FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2',
        [table, column],
      );
      expect({ table, column, target: rows[0]?.target }).toEqual({ table, column, target: 500 });
    }
  });
});
