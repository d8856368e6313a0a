/**
 * Erasure, subject-access export and the append-only trail, over real HTTP against the API on
 * PostgreSQL 18, with the API's connections acting as crm_app (as in AWS).
 */
import { type ApiFixture, type Caller, startApiFixture } from './fixture';

let api: ApiFixture;
let admin: Caller;
let manager: Caller;
let sales: Caller;

beforeAll(async () => {
  api = await startApiFixture();
  [admin, manager, sales] = await Promise.all([api.caller('admin'), api.caller('manager'), api.caller('sales')]);
});
afterAll(async () => api.close());

const ifMatch = (res: { headers: Headers }) => ({ 'if-match': res.headers.get('etag')! });

/** A contact with personal data in its create and update audit rows, an activity about them and a deal. */
async function personWithHistory(tag: string) {
  const email = `erika.${tag}@example.com`;
  const created = await api.request('POST', '/v1/contacts', {
    as: sales,
    body: { firstName: 'Erika', lastName: `Mustermann-${tag}`, email, phone: '+4915112345678' },
    headers: { 'idempotency-key': `create-${tag}` },
  });
  expect(created.status).toBe(201);
  const updated = await api.request('PATCH', `/v1/contacts/${created.body.id}`, {
    as: sales,
    body: { title: 'Head of Purchasing', email: `e.${tag}@example.org` },
    headers: ifMatch(created),
  });
  expect(updated.status).toBe(200);
  const activity = await api.request('POST', '/v1/activities', {
    as: sales,
    body: {
      type: 'call',
      subject: `Called Erika Mustermann-${tag}`,
      body: 'Lives at Hauptstr. 1',
      contactId: created.body.id,
    },
  });
  expect(activity.status).toBe(201);
  const deal = await api.request('POST', '/v1/deals', {
    as: sales,
    body: { name: `Deal with ${tag}`, primaryContactId: created.body.id },
  });
  expect(deal.status).toBe(201);
  return { contact: updated, activity, deal, email };
}

async function auditText(): Promise<string> {
  const { rows } = await api.pool.query('SELECT coalesce(jsonb_agg(diff), $$[]$$)::text AS t FROM crm.audit_log');
  return rows[0].t;
}

describe('erasure (admin hard delete of a contact)', () => {
  it('blanks the person in the audit trail and stored responses, keeping who did what and when', async () => {
    const { contact, activity, deal, email } = await personWithHistory('erase');
    const { rows: before } = await api.pool.query(
      'SELECT id, actor, action, at FROM crm.audit_log WHERE entity_id = ANY($1) ORDER BY at, id',
      [[contact.body.id, activity.body.id]],
    );
    expect(await auditText()).toContain('Mustermann-erase');

    const res = await api.request('DELETE', `/v1/contacts/${contact.body.id}?hard=true`, {
      as: admin,
      headers: ifMatch(contact),
    });

    expect(res.status).toBe(204);
    const text = await auditText();
    for (const pii of [
      'Erika',
      'Mustermann-erase',
      email,
      'e.erase@example.org',
      '+4915112345678',
      'Hauptstr',
      'Purchasing',
    ]) {
      expect(text).not.toContain(pii);
    }
    const { rows: after } = await api.pool.query(
      'SELECT id, actor, action, at, diff FROM crm.audit_log WHERE entity_id = ANY($1) ORDER BY at, id',
      [[contact.body.id, activity.body.id]],
    );
    expect(after.slice(0, before.length).map(({ diff: _, ...r }) => r)).toEqual(before);
    const update = after.find((r) => r.action === 'contact.update');
    expect(update.diff).toEqual({
      title: { from: null, to: '[erased]' },
      email: { from: '[erased]', to: '[erased]' },
    });
    expect(after.find((r) => r.action === 'contact.create').diff.ownerId).toEqual({ from: null, to: sales.userId });
    expect(after.at(-1)).toMatchObject({
      action: 'contact.purge',
      actor: admin.userId,
      diff: { erasedAuditRows: { from: null, to: 3 } },
    });
    const left = await api.pool.query(
      `SELECT (SELECT count(*) FROM crm.contacts WHERE id = $1)::int AS contacts,
              (SELECT count(*) FROM crm.activities WHERE id = $2)::int AS activities,
              (SELECT count(*) FROM crm.idempotency_keys WHERE key = 'create-erase')::int AS keys,
              (SELECT primary_contact_id FROM crm.deals WHERE id = $3) AS deal_contact`,
      [contact.body.id, activity.body.id, deal.body.id],
    );
    expect(left.rows).toEqual([{ contacts: 0, activities: 0, keys: 0, deal_contact: null }]);
  });

  it('changes nothing when the If-Match is stale', async () => {
    const { contact } = await personWithHistory('stale');
    const textBefore = await auditText();

    const res = await api.request('DELETE', `/v1/contacts/${contact.body.id}?hard=true`, {
      as: admin,
      headers: { 'if-match': '"1"' },
    });

    expect(res.status).toBe(412);
    expect(await auditText()).toBe(textBefore);
  });

  it('is for admins only', async () => {
    const { contact } = await personWithHistory('manager');
    const res = await api.request('DELETE', `/v1/contacts/${contact.body.id}?hard=true`, {
      as: manager,
      headers: ifMatch(contact),
    });
    expect(res.status).toBe(403);
    expect(await auditText()).toContain('Mustermann-manager');
  });
});

describe('subject-access export', () => {
  it('returns the contact, its activities, deals and audit entries as one document, and audits it', async () => {
    const { contact, activity, deal } = await personWithHistory('export');

    const res = await api.request('GET', `/v1/contacts/${contact.body.id}/export`, { as: manager });

    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="contact-${contact.body.id}.json"`);
    expect(res.body.contact).toMatchObject({ id: contact.body.id, email: 'e.export@example.org' });
    expect(res.body.activities.map((a: { id: string }) => a.id)).toEqual([activity.body.id]);
    expect(res.body.deals.map((d: { id: string }) => d.id)).toEqual([deal.body.id]);
    expect(res.body.auditEntries.map((e: { action: string }) => e.action)).toEqual([
      'contact.create',
      'contact.update',
      'activity.create',
    ]);
    const { rows } = await api.pool.query(
      "SELECT actor FROM crm.audit_log WHERE action = 'contact.export' AND entity_id = $1",
      [contact.body.id],
    );
    expect(rows).toEqual([{ actor: manager.userId }]);
  });

  it('is refused to sales (403) and answers 404 for an unknown or malformed id', async () => {
    const { contact } = await personWithHistory('refused');
    expect((await api.request('GET', `/v1/contacts/${contact.body.id}/export`, { as: sales })).status).toBe(403);
    expect(
      (await api.request('GET', '/v1/contacts/00000000-0000-4000-8000-000000000000/export', { as: manager })).status,
    ).toBe(404);
    expect((await api.request('GET', '/v1/contacts/not-a-uuid/export', { as: manager })).status).toBe(404);
  });
});

describe('what crm_app may not do', () => {
  async function asCrmApp(sql: string): Promise<unknown> {
    const client = await api.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE crm_app');
      await client.query(sql);
      return undefined;
    } catch (err) {
      return err;
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it.each([
    ['rewrite the audit trail', 'UPDATE crm.audit_log SET diff = NULL'],
    ['delete audit rows', 'DELETE FROM crm.audit_log'],
    ['rewrite stage history', 'UPDATE crm.deal_stage_history SET changed_at = now()'],
    ['delete stage history', 'DELETE FROM crm.deal_stage_history'],
    ['truncate stage history', 'TRUNCATE crm.deal_stage_history'],
    ['create temporary tables', 'CREATE TEMP TABLE scratch (id int)'],
  ])('cannot %s', async (_, sql) => {
    expect(await asCrmApp(sql)).toMatchObject({ code: '42501' });
  });

  it('may run the erasure function, which other roles may not', async () => {
    const client = await api.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE crm_monitor');
      await expect(
        client.query("SELECT crm.erase_contact('00000000-0000-4000-8000-000000000000')"),
      ).rejects.toMatchObject({
        code: '42501',
      });
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(await asCrmApp("SELECT crm.erase_contact('00000000-0000-4000-8000-000000000000')")).toMatchObject({
      code: 'P0002',
    });
  });

  it('still deletes a deal with its stage history (the cascade runs with the owner’s rights)', async () => {
    const deal = await api.request('POST', '/v1/deals', { as: sales, body: { name: 'Cascade' } });
    const res = await api.request('DELETE', `/v1/deals/${deal.body.id}?hard=true`, {
      as: admin,
      headers: ifMatch(deal),
    });
    expect(res.status).toBe(204);
    const { rows } = await api.pool.query('SELECT count(*)::int AS n FROM crm.deal_stage_history WHERE deal_id = $1', [
      deal.body.id,
    ]);
    expect(rows).toEqual([{ n: 0 }]);
  });
});
