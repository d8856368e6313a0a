import { EXPIRED_KEYS_PURGED_PER_CLAIM } from '../../../lambda/api/db';
import { type ApiFixture, type Caller, startApiFixture } from './fixture';

let api: ApiFixture;
let admin: Caller;
let manager: Caller;
let sales: Caller;
let otherSales: Caller;
let readonly: Caller;

beforeAll(async () => {
  api = await startApiFixture();
  [admin, manager, sales, otherSales, readonly] = await Promise.all([
    api.caller('admin'),
    api.caller('manager'),
    api.caller('sales'),
    api.caller('sales', 'sales2'),
    api.caller('readonly'),
  ]);
});
afterAll(async () => api.close());

const ifMatch = (res: { headers: Headers }) => ({ 'if-match': res.headers.get('etag')! });

async function auditRows(entityId: string) {
  const { rows } = await api.pool.query(
    'SELECT actor, action, diff FROM crm.audit_log WHERE entity_id = $1 ORDER BY at, id',
    [entityId],
  );
  return rows;
}

describe('role matrix', () => {
  it('readonly reads but cannot write', async () => {
    expect((await api.request('GET', '/v1/companies', { as: readonly })).status).toBe(200);
    expect((await api.request('POST', '/v1/companies', { as: readonly, body: { name: 'No' } })).status).toBe(403);
  });

  it('sales writes its own records only, and cannot assign them to others', async () => {
    const own = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Mine' } });
    expect(own.status).toBe(201);
    expect(own.body.ownerId).toBe(sales.userId);
    const patchOwn = await api.request('PATCH', `/v1/companies/${own.body.id}`, {
      as: sales,
      body: { city: 'Lyon' },
      headers: ifMatch(own),
    });
    expect(patchOwn.status).toBe(200);
    const patchOther = await api.request('PATCH', `/v1/companies/${own.body.id}`, {
      as: otherSales,
      body: { city: 'Nice' },
      headers: ifMatch(patchOwn),
    });
    expect(patchOther.status).toBe(403);
    const deleteOther = await api.request('DELETE', `/v1/companies/${own.body.id}`, {
      as: otherSales,
      headers: ifMatch(patchOwn),
    });
    expect(deleteOther.status).toBe(403);
    const giveAway = await api.request('POST', '/v1/companies', {
      as: sales,
      body: { name: 'Gift', ownerId: otherSales.userId },
    });
    expect(giveAway.status).toBe(403);
    expect((await api.request('GET', `/v1/companies/${own.body.id}`, { as: otherSales })).status).toBe(200);
  });

  it('manager writes every record and assigns owners', async () => {
    const c = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Managed' } });
    const res = await api.request('PATCH', `/v1/companies/${c.body.id}`, {
      as: manager,
      body: { ownerId: otherSales.userId },
      headers: ifMatch(c),
    });
    expect(res.status).toBe(200);
    expect(res.body.ownerId).toBe(otherSales.userId);
  });

  it('only managers and admins change pipelines', async () => {
    const body = {
      name: 'Partners',
      stages: [
        { name: 'Open', probability: 20 },
        { name: 'Signed', probability: 100, isClosed: true, isWon: true },
      ],
    };
    expect((await api.request('POST', '/v1/pipelines', { as: sales, body })).status).toBe(403);
    const res = await api.request('POST', '/v1/pipelines', { as: manager, body });
    expect(res.status).toBe(201);
    expect(res.body.stages.map((s: { name: string; position: number }) => [s.name, s.position])).toEqual([
      ['Open', 1],
      ['Signed', 2],
    ]);
  });

  it('only admins hard-delete and manage users', async () => {
    const c = await api.request('POST', '/v1/companies', { as: manager, body: { name: 'Purge me' } });
    const path = `/v1/companies/${c.body.id}?hard=true`;
    expect((await api.request('DELETE', path, { as: manager, headers: ifMatch(c) })).status).toBe(403);
    expect((await api.request('GET', '/v1/users', { as: manager })).status).toBe(403);
    expect((await api.request('GET', '/v1/users', { as: admin })).status).toBe(200);
  });

  it('an admin demotes a user in the CRM, effective at once', async () => {
    const user = await api.request('GET', `/v1/users/${otherSales.userId}`, { as: admin });
    const res = await api.request('PATCH', `/v1/users/${otherSales.userId}`, {
      as: admin,
      body: { role: 'readonly' },
      headers: ifMatch(user),
    });
    expect(res.status).toBe(200);
    expect(res.body.role).toBe('readonly');
    expect((await api.request('POST', '/v1/companies', { as: otherSales, body: { name: 'Nope' } })).status).toBe(403);
    const back = await api.request('PATCH', `/v1/users/${otherSales.userId}`, {
      as: admin,
      body: { role: 'sales' },
      headers: ifMatch(res),
    });
    expect(back.status).toBe(200);
  });
});

describe('writes', () => {
  it('accepts an unquoted or weak If-Match for the current version and refuses a stale one', async () => {
    const c = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Hand typed' } });
    expect(c.headers.get('etag')).toBe('"1"');
    const stale = await api.request('PATCH', `/v1/companies/${c.body.id}`, {
      as: sales,
      body: { industry: 'Retail' },
      headers: { 'if-match': '7' },
    });
    expect(stale.status).toBe(412);
    const unquoted = await api.request('PATCH', `/v1/companies/${c.body.id}`, {
      as: sales,
      body: { industry: 'Retail' },
      headers: { 'if-match': '1' },
    });
    expect(unquoted.status).toBe(200);
    const weak = await api.request('PATCH', `/v1/companies/${c.body.id}`, {
      as: sales,
      body: { industry: 'Media' },
      headers: { 'if-match': 'W/"2"' },
    });
    expect(weak.status).toBe(200);
  });

  it('normalises emails and phones and answers 409 naming the existing contact', async () => {
    const res = await api.request('POST', '/v1/contacts', {
      as: sales,
      body: { firstName: 'Ada', email: '  Ada.Lovelace@Example.COM ', phone: '+44 (0)20 7946 0958' },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email: 'ada.lovelace@example.com', phone: '+442079460958' });
    const dup = await api.request('POST', '/v1/contacts', {
      as: sales,
      body: { lastName: 'L', email: 'ADA.lovelace@example.com' },
    });
    expect(dup.status).toBe(409);
    expect(dup.body.existingId).toBe(res.body.id);
  });

  it('replays an idempotent POST and refuses the key for a different body', async () => {
    const headers = { 'idempotency-key': 'create-company-42' };
    const first = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Idem' }, headers });
    const replay = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Idem' }, headers });
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const { rows } = await api.pool.query("SELECT count(*)::int AS n FROM crm.companies WHERE name = 'Idem'");
    expect(rows[0].n).toBe(1);
    const other = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Other' }, headers });
    expect(other.status).toBe(422);
  });

  it('runs concurrent retries with one key exactly once', async () => {
    const headers = { 'idempotency-key': 'concurrent-1' };
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => api.request('POST', '/v1/companies', { as: sales, body: { name: 'Once' }, headers })),
    );
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const { rows } = await api.pool.query("SELECT count(*)::int AS n FROM crm.companies WHERE name = 'Once'");
    expect(rows[0].n).toBe(1);
  });

  it('writes the audit row with the change, in the same transaction', async () => {
    const c = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Audited', city: 'Oslo' } });
    await api.request('PATCH', `/v1/companies/${c.body.id}`, {
      as: sales,
      body: { city: 'Bergen' },
      headers: ifMatch(c),
    });
    const rows = await auditRows(c.body.id);
    expect(rows.map((r) => r.action)).toEqual(['company.create', 'company.update']);
    expect(rows[1]).toMatchObject({ actor: sales.userId, diff: { city: { from: 'Oslo', to: 'Bergen' } } });
  });

  it('a failed write leaves neither the record nor an audit row', async () => {
    await api.pool.query(`
      CREATE FUNCTION crm.fail_on_boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.entity_id IS NOT NULL AND NEW.action = 'company.create'
        AND EXISTS (SELECT 1 FROM crm.companies WHERE id = NEW.entity_id AND name = 'Boom') THEN
        RAISE EXCEPTION 'audit write failed'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER fail_on_boom BEFORE INSERT ON crm.audit_log FOR EACH ROW EXECUTE FUNCTION crm.fail_on_boom();`);
    try {
      const res = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Boom' } });
      expect(res.status).toBe(500);
      expect(res.body.detail).not.toMatch(/audit write failed/);
      const { rows } = await api.pool.query("SELECT count(*)::int AS n FROM crm.companies WHERE name = 'Boom'");
      expect(rows[0].n).toBe(0);
      const audit = await api.pool.query(
        "SELECT count(*)::int AS n FROM crm.audit_log WHERE action = 'company.create' AND diff->'name'->>'to' = 'Boom'",
      );
      expect(audit.rows[0].n).toBe(0);
    } finally {
      await api.pool.query('DROP TRIGGER fail_on_boom ON crm.audit_log; DROP FUNCTION crm.fail_on_boom()');
    }
  });

  it('records every stage a deal enters', async () => {
    const deal = await api.request('POST', '/v1/deals', {
      as: sales,
      body: { name: 'Stages', amountMinor: 5000, currency: 'usd' },
    });
    expect(deal.status).toBe(201);
    const pipeline = await api.request('GET', `/v1/pipelines/${deal.body.pipelineId}`, { as: sales });
    const next = pipeline.body.stages[1].id;
    const moved = await api.request('PATCH', `/v1/deals/${deal.body.id}`, {
      as: sales,
      body: { stageId: next },
      headers: ifMatch(deal),
    });
    expect(moved.status).toBe(200);
    const history = await api.request('GET', `/v1/deals/${deal.body.id}/stage-history`, { as: readonly });
    expect(
      history.body.items.map((h: { fromStageId: string | null; toStageId: string }) => [h.fromStageId, h.toStageId]),
    ).toEqual([
      [null, deal.body.stageId],
      [deal.body.stageId, next],
    ]);
    expect(history.body.items[1]).toMatchObject({ amountMinor: 5000, currency: 'USD', changedBy: sales.userId });
  });

  it('refuses a stage of another pipeline', async () => {
    const deal = await api.request('POST', '/v1/deals', { as: sales, body: { name: 'Wrong stage' } });
    const other = await api.request('POST', '/v1/pipelines', {
      as: admin,
      body: { name: 'Other', stages: [{ name: 'X', probability: 5 }] },
    });
    const res = await api.request('PATCH', `/v1/deals/${deal.body.id}`, {
      as: sales,
      body: { stageId: other.body.stages[0].id },
      headers: ifMatch(deal),
    });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].field).toBe('stageId');
  });

  it('soft-deletes and restores; deleted records are listed for managers only', async () => {
    const c = await api.request('POST', '/v1/companies', {
      as: sales,
      body: { name: 'Trash', domain: 'trash.example.org' },
    });
    const del = await api.request('DELETE', `/v1/companies/${c.body.id}`, { as: sales, headers: ifMatch(c) });
    expect(del.status).toBe(200);
    expect(del.body.deletedAt).not.toBeNull();
    expect((await api.request('GET', `/v1/companies/${c.body.id}`, { as: sales })).status).toBe(404);
    expect((await api.request('GET', '/v1/companies?deleted=true', { as: sales })).status).toBe(403);
    const trash = await api.request('GET', '/v1/companies?deleted=true', { as: manager });
    expect(trash.body.items.map((i: { id: string }) => i.id)).toContain(c.body.id);
    // The domain is free again while the record is deleted...
    const taker = await api.request('POST', '/v1/companies', {
      as: manager,
      body: { name: 'Taker', domain: 'trash.example.org' },
    });
    expect(taker.status).toBe(201);
    // ...so restoring now conflicts, naming the new holder.
    const clash = await api.request('POST', `/v1/companies/${c.body.id}/restore`, { as: sales });
    expect(clash.status).toBe(409);
    expect(clash.body.existingId).toBe(taker.body.id);
    await api.request('DELETE', `/v1/companies/${taker.body.id}`, { as: manager, headers: ifMatch(taker) });
    const restored = await api.request('POST', `/v1/companies/${c.body.id}/restore`, { as: sales });
    expect(restored.status).toBe(200);
    expect(restored.body.deletedAt).toBeNull();
    expect((await auditRows(c.body.id)).map((r) => r.action)).toEqual([
      'company.create',
      'company.delete',
      'company.restore',
    ]);
  });

  it('hard-deletes (erases) contacts for admins, keeping an audit row without field values', async () => {
    const c = await api.request('POST', '/v1/contacts', {
      as: sales,
      body: { firstName: 'Erase', email: 'erase@example.com' },
    });
    const res = await api.request('DELETE', `/v1/contacts/${c.body.id}?hard=true`, { as: admin, headers: ifMatch(c) });
    expect(res.status).toBe(204);
    const { rows } = await api.pool.query('SELECT 1 FROM crm.contacts WHERE id = $1', [c.body.id]);
    expect(rows).toHaveLength(0);
    const audit = await auditRows(c.body.id);
    // Only the count of audit rows the erasure blanked (test/lambda/api/privacy.test.ts has the rest).
    expect(audit.at(-1)).toMatchObject({
      action: 'contact.purge',
      diff: { erasedAuditRows: { from: null, to: 1 } },
      actor: admin.userId,
    });
  });
});

describe('expired Idempotency-Keys', () => {
  /** Stores `n` keys for a fictitious actor, expired (`expiresIn` < 0) or not, as the API would have. */
  async function storeKeys(actor: string, n: number, expiresIn: string): Promise<void> {
    await api.pool.query(
      `INSERT INTO crm.idempotency_keys (key, actor, method, path, request_hash, status_code, response, created_at, expires_at)
       SELECT 'k-' || i, $1, 'POST', '/v1/companies', 'hash', 201, '{}', now() + $3::interval - interval '1 day',
              now() + $3::interval
         FROM generate_series(1, $2::int) AS i`,
      [actor, n, expiresIn],
    );
  }
  const keysOf = async (actor: string) =>
    (await api.pool.query('SELECT count(*)::int AS n FROM crm.idempotency_keys WHERE actor = $1', [actor])).rows[0]
      .n as number;
  const expiredKeys = async () =>
    (await api.pool.query('SELECT count(*)::int AS n FROM crm.idempotency_keys WHERE expires_at < now()')).rows[0]
      .n as number;

  it('are purged when a new key is stored, and unexpired keys are kept', async () => {
    await storeKeys('expired-actor', 3, '-1 hour');
    await storeKeys('live-actor', 2, '1 hour');

    const res = await api.request('POST', '/v1/companies', {
      as: sales,
      body: { name: 'Purges expired keys' },
      headers: { 'idempotency-key': 'purge-1' },
    });

    expect(res.status).toBe(201);
    expect(await keysOf('expired-actor')).toBe(0);
    expect(await keysOf('live-actor')).toBe(2);
    const own = await api.pool.query('SELECT status_code FROM crm.idempotency_keys WHERE actor = $1 AND key = $2', [
      sales.userId,
      'purge-1',
    ]);
    expect(own.rows).toEqual([{ status_code: 201 }]);
  });

  it(`are purged at most ${EXPIRED_KEYS_PURGED_PER_CLAIM} per stored key, so a backlog never slows a write`, async () => {
    await storeKeys('backlog-actor', EXPIRED_KEYS_PURGED_PER_CLAIM + 50, '-2 hours');

    await api.request('POST', '/v1/companies', {
      as: sales,
      body: { name: 'Purges a bounded batch' },
      headers: { 'idempotency-key': 'purge-2' },
    });

    expect(await expiredKeys()).toBe(50);
  });

  it('an expired key reused by its caller runs the request again', async () => {
    await api.pool.query('DELETE FROM crm.idempotency_keys WHERE expires_at < now()');
    const headers = { 'idempotency-key': 'expired-then-reused' };
    const first = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Reused 1' }, headers });
    await api.pool.query(
      "UPDATE crm.idempotency_keys SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day' WHERE actor = $1 AND key = $2",
      [sales.userId, headers['idempotency-key']],
    );

    const again = await api.request('POST', '/v1/companies', { as: sales, body: { name: 'Reused 2' }, headers });

    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(await expiredKeys()).toBe(0);
  });

  it('crm_app may delete them', async () => {
    const { rows } = await api.pool.query(
      "SELECT has_table_privilege('crm_app', 'crm.idempotency_keys', 'DELETE') AS can_delete",
    );
    expect(rows[0].can_delete).toBe(true);
  });
});
