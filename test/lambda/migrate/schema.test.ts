import type { PoolClient } from 'pg';
import { loadMigrations } from '../../../lambda/migrate/migrations';
import { type MigrationRunResult, runMigrations } from '../../../lambda/migrate/runner';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';
import { tolerateForcedDrop } from './fixtures';

// The real migrations on a fresh PostgreSQL 18 database (one for this file). Tests that write
// run inside a transaction that is rolled back, so they do not see each other's rows.

let db: TestDatabase;
let first: MigrationRunResult;
const migrations = loadMigrations();

beforeAll(async () => {
  db = await createTestDatabase('crm_migrate_schema');
  tolerateForcedDrop(db.pool);
  first = await runMigrations(db.pool, { migrations });
});

afterAll(async () => {
  await db.drop();
});

/** Runs `fn` in a transaction (optionally as `role`) and rolls it back. */
async function inTransaction<T>(fn: (c: PoolClient) => Promise<T>, role?: string): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    if (role) await client.query(`SET LOCAL ROLE ${role}`);
    return await fn(client);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

/** Expects `sql` to fail with SQLSTATE `code`, inside a savepoint so the transaction continues. */
async function expectSqlState(
  c: PoolClient,
  sql: string,
  code: string,
  values: unknown[] = [],
  constraint?: string,
): Promise<void> {
  await c.query('SAVEPOINT expect_error');
  const error = await c.query(sql, values).then(
    () => undefined,
    (e: { code?: string }) => e,
  );
  await c.query('ROLLBACK TO SAVEPOINT expect_error');
  expect(error).toMatchObject(constraint ? { code, constraint } : { code });
}

async function insertUser(c: PoolClient, email = `owner-${Math.random()}@example.com`): Promise<string> {
  const { rows } = await c.query(
    "INSERT INTO crm.users (cognito_sub, email, display_name) VALUES (gen_random_uuid()::text, $1, 'Owner') RETURNING id",
    [email],
  );
  return rows[0].id;
}

async function insertContact(c: PoolClient, owner: string, email: string): Promise<string> {
  const { rows } = await c.query(
    "INSERT INTO crm.contacts (first_name, email, owner_id) VALUES ('Ada', $1, $2) RETURNING id",
    [email, owner],
  );
  return rows[0].id;
}

async function defaultStages(c: PoolClient): Promise<{ pipelineId: string; stages: Record<string, string> }> {
  const { rows } = await c.query(
    'SELECT p.id AS pipeline_id, s.name, s.id FROM crm.pipelines p JOIN crm.pipeline_stages s ON s.pipeline_id = p.id WHERE p.is_default',
  );
  return { pipelineId: rows[0].pipeline_id, stages: Object.fromEntries(rows.map((r) => [r.name, r.id])) };
}

describe('fresh apply', () => {
  it('applies every migration in order and records it in crm_meta.schema_migrations', async () => {
    expect(first.applied.map((m) => m.version)).toEqual(migrations.map((m) => m.version));
    expect(first.currentVersion).toBe(migrations.at(-1)?.version);
    const { rows } = await db.pool.query(
      'SELECT version, name, checksum FROM crm_meta.schema_migrations ORDER BY version',
    );
    expect(rows).toEqual(migrations.map(({ version, name, checksum }) => ({ version, name, checksum })));
  });

  it('is a no-op when run again', async () => {
    const again = await runMigrations(db.pool, { migrations });

    expect(again.applied).toEqual([]);
    expect(again.currentVersion).toBe(first.currentVersion);
  });

  it('has nothing pending in plan mode', async () => {
    const plan = await runMigrations(db.pool, { migrations, plan: true });

    expect(plan.pending).toEqual([]);
  });

  it('indexes every foreign key (its columns lead some index)', async () => {
    const { rows } = await db.pool.query(`
      SELECT con.conrelid::regclass::text AS table_name, con.conname
      FROM pg_constraint con
      WHERE con.contype = 'f' AND con.connamespace = 'crm'::regnamespace
        AND NOT EXISTS (
          SELECT FROM pg_index i
          WHERE i.indrelid = con.conrelid
            AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1] @> con.conkey
            AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1] <@ con.conkey
        )`);

    expect(rows).toEqual([]);
  });

  it('seeds the default sales pipeline with its stages', async () => {
    const { rows } = await db.pool.query(`
      SELECT s.name, s.probability, s.is_closed, s.is_won
      FROM crm.pipelines p JOIN crm.pipeline_stages s ON s.pipeline_id = p.id
      WHERE p.is_default ORDER BY s.position`);

    expect(rows).toEqual([
      { name: 'Lead', probability: 10, is_closed: false, is_won: false },
      { name: 'Qualified', probability: 25, is_closed: false, is_won: false },
      { name: 'Proposal', probability: 50, is_closed: false, is_won: false },
      { name: 'Negotiation', probability: 75, is_closed: false, is_won: false },
      { name: 'Won', probability: 100, is_closed: true, is_won: true },
      { name: 'Lost', probability: 0, is_closed: true, is_won: false },
    ]);
  });

  it('installs pg_trgm and uses trigram indexes for name/email/domain search', async () => {
    const { rows } = await db.pool.query(
      "SELECT indexname FROM pg_indexes WHERE schemaname = 'crm' AND indexdef LIKE '%gin_trgm_ops%' ORDER BY 1",
    );

    expect(rows.map((r) => r.indexname)).toEqual(
      expect.arrayContaining([
        'companies_domain_trgm_idx',
        'companies_name_trgm_idx',
        'contacts_email_trgm_idx',
        'contacts_last_name_trgm_idx',
      ]),
    );
  });
});

describe('crm_app role', () => {
  it('can read and write CRM rows', async () => {
    await inTransaction(async (c) => {
      const owner = await insertUser(c);
      const contact = await insertContact(c, owner, 'grace@example.com');
      await c.query("UPDATE crm.contacts SET title = 'CTO' WHERE id = $1", [contact]);
      await c.query(
        "INSERT INTO crm.audit_log (actor, action, entity, entity_id) VALUES ($1, 'create', 'contact', $2)",
        [owner, contact],
      );
      const { rows } = await c.query('SELECT title FROM crm.contacts WHERE id = $1', [contact]);
      await c.query('DELETE FROM crm.contacts WHERE id = $1', [contact]);

      expect(rows).toEqual([{ title: 'CTO' }]);
    }, 'crm_app');
  });

  it('reads the schema version but cannot write the migration history', async () => {
    await inTransaction(async (c) => {
      const { rows } = await c.query('SELECT max(version) AS v FROM crm_meta.schema_migrations');
      expect(rows[0].v).toBe(first.currentVersion);
      await expectSqlState(
        c,
        "INSERT INTO crm_meta.schema_migrations VALUES (999, 'x', repeat('a', 64), now(), 0, 'x')",
        '42501',
      );
      await expectSqlState(c, 'UPDATE crm_meta.schema_migrations SET name = name', '42501');
      await expectSqlState(c, 'DELETE FROM crm_meta.schema_migrations', '42501');
    }, 'crm_app');
  });

  it.each([
    ['CREATE TABLE', 'CREATE TABLE crm.sneaky (id int)'],
    ['DROP TABLE', 'DROP TABLE crm.deals'],
    ['ALTER TABLE', 'ALTER TABLE crm.deals ADD COLUMN sneaky int'],
    ['TRUNCATE', 'TRUNCATE crm.contacts'],
    ['CREATE INDEX', 'CREATE INDEX sneaky_idx ON crm.deals (name)'],
  ])('cannot run DDL: %s', async (_label, sql) => {
    await inTransaction(async (c) => {
      await expectSqlState(c, sql, '42501');
    }, 'crm_app');
  });

  it('cannot change or delete audit_log rows', async () => {
    await inTransaction(async (c) => {
      await c.query("INSERT INTO crm.audit_log (actor, action, entity) VALUES ('system:test', 'create', 'contact')");
      await expectSqlState(c, "UPDATE crm.audit_log SET actor = 'someone else'", '42501');
      await expectSqlState(c, 'DELETE FROM crm.audit_log', '42501');
    }, 'crm_app');
  });

  it('is a login role (for IAM auth on RDS)', async () => {
    const { rows } = await db.pool.query(
      "SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname IN ('crm_app', 'crm_monitor') ORDER BY 1",
    );

    expect(rows).toEqual([
      { rolname: 'crm_app', rolcanlogin: true, rolsuper: false, rolcreaterole: false, rolcreatedb: false },
      { rolname: 'crm_monitor', rolcanlogin: true, rolsuper: false, rolcreaterole: false, rolcreatedb: false },
    ]);
  });
});

describe('crm_monitor role', () => {
  it('reads statistics and sequence positions, but no CRM data, and cannot write', async () => {
    await inTransaction(async (c) => {
      await c.query('SELECT count(*) FROM pg_stat_activity');
      await c.query('SELECT count(*) FROM pg_stat_statements');
      await expectSqlState(c, 'SELECT count(*) FROM crm.contacts', '42501');
      await expectSqlState(
        c,
        "INSERT INTO crm.audit_log (actor, action, entity) VALUES ('x', 'create', 'deal')",
        '42501',
      );
    }, 'crm_monitor');
    const { rows } = await db.pool.query("SELECT pg_has_role('crm_monitor', 'pg_monitor', 'MEMBER') AS member");
    expect(rows[0].member).toBe(true);
  });
});

describe('constraints', () => {
  it('rejects a contact whose email differs from a live one only by case', async () => {
    await inTransaction(async (c) => {
      const owner = await insertUser(c);
      await insertContact(c, owner, 'Ada@Example.com');

      await expectSqlState(
        c,
        "INSERT INTO crm.contacts (first_name, email, owner_id) VALUES ('Ada', 'ada@example.COM', $1)",
        '23505',
        [owner],
      );
    });
  });

  it('lets a soft-deleted contact email be used again', async () => {
    await inTransaction(async (c) => {
      const owner = await insertUser(c);
      const old = await insertContact(c, owner, 'Ada@Example.com');
      await c.query('UPDATE crm.contacts SET deleted_at = now() WHERE id = $1', [old]);

      await expect(insertContact(c, owner, 'ada@example.com')).resolves.toEqual(expect.any(String));
    });
  });

  it('keeps company domains unique case-insensitively among live rows', async () => {
    await inTransaction(async (c) => {
      const owner = await insertUser(c);
      await c.query("INSERT INTO crm.companies (name, domain, owner_id) VALUES ('Acme', 'acme.com', $1)", [owner]);

      await expectSqlState(
        c,
        "INSERT INTO crm.companies (name, domain, owner_id) VALUES ('Acme 2', 'ACME.com', $1)",
        '23505',
        [owner],
      );
    });
  });

  it.each([
    [
      'a phone number that is not E.164',
      'contacts_phone_check',
      "INSERT INTO crm.contacts (first_name, phone, owner_id) VALUES ('A', '555-0123', $1)",
    ],
    [
      'a malformed email',
      'contacts_email_check',
      "INSERT INTO crm.contacts (first_name, email, owner_id) VALUES ('A', 'not-an-email', $1)",
    ],
    [
      'a contact without any name',
      'contacts_has_name',
      "INSERT INTO crm.contacts (first_name, last_name, owner_id) VALUES ('', NULL, $1)",
    ],
    [
      'a negative revenue',
      'companies_annual_revenue_minor_check',
      "INSERT INTO crm.companies (name, annual_revenue_minor, annual_revenue_currency, owner_id) VALUES ('A', -1, 'USD', $1)",
    ],
    [
      'revenue without a currency',
      'companies_revenue_has_currency',
      "INSERT INTO crm.companies (name, annual_revenue_minor, owner_id) VALUES ('A', 100, $1)",
    ],
    [
      'a domain with a scheme',
      'companies_domain_check',
      "INSERT INTO crm.companies (name, domain, owner_id) VALUES ('A', 'https://acme.com', $1)",
    ],
    [
      'an unknown company size',
      'companies_size_check',
      "INSERT INTO crm.companies (name, size, owner_id) VALUES ('A', 'huge', $1)",
    ],
    [
      'an unknown activity type',
      'activities_type_check',
      "WITH co AS (INSERT INTO crm.companies (name, owner_id) VALUES ('Co', $1) RETURNING id) INSERT INTO crm.activities (type, subject, owner_id, company_id) SELECT 'fax', 'x', $1, id FROM co",
    ],
    [
      'an activity linked to nothing',
      'activities_linked',
      "INSERT INTO crm.activities (type, subject, owner_id) VALUES ('note', 'x', $1)",
    ],
    [
      'consent granted without a timestamp',
      'contacts_consent_recorded',
      "INSERT INTO crm.contacts (first_name, marketing_consent, owner_id) VALUES ('A', 'granted', $1)",
    ],
  ])('rejects %s (%s)', async (_label, constraint, sql) => {
    await inTransaction(async (c) => {
      const owner = await insertUser(c);
      await expectSqlState(c, sql, '23514', [owner], constraint);
    });
  });

  it('rejects a deal amount below zero and an amount without a currency', async () => {
    await inTransaction(async (c) => {
      const owner = await insertUser(c);
      const { pipelineId, stages } = await defaultStages(c);
      const insert =
        'INSERT INTO crm.deals (name, amount_minor, currency, pipeline_id, stage_id, owner_id) VALUES ($1, $2, $3, $4, $5, $6)';

      await expectSqlState(
        c,
        insert,
        '23514',
        ['D', -5, 'USD', pipelineId, stages.Lead, owner],
        'deals_amount_minor_check',
      );
      await expectSqlState(
        c,
        insert,
        '23514',
        ['D', 5, null, pipelineId, stages.Lead, owner],
        'deals_amount_has_currency',
      );
      await expect(c.query(insert, ['D', 5, 'EUR', pipelineId, stages.Lead, owner])).resolves.toBeDefined();
    });
  });

  it('rejects a deal whose stage belongs to another pipeline', async () => {
    await inTransaction(async (c) => {
      const owner = await insertUser(c);
      const { stages } = await defaultStages(c);
      const { rows } = await c.query("INSERT INTO crm.pipelines (name) VALUES ('Renewals') RETURNING id");

      await expectSqlState(
        c,
        "INSERT INTO crm.deals (name, pipeline_id, stage_id, owner_id) VALUES ('D', $1, $2, $3)",
        '23503',
        [rows[0].id, stages.Lead, owner],
        'deals_stage_in_pipeline',
      );
    });
  });

  it('rejects a won stage that is not closed, and a second default pipeline', async () => {
    await inTransaction(async (c) => {
      const { pipelineId } = await defaultStages(c);
      await expectSqlState(
        c,
        "INSERT INTO crm.pipeline_stages (pipeline_id, name, position, probability, is_won) VALUES ($1, 'Odd', 99, 100, true)",
        '23514',
        [pipelineId],
        'pipeline_stages_won_is_closed',
      );
      await expectSqlState(c, "INSERT INTO crm.pipelines (name, is_default) VALUES ('Second', true)", '23505');
    });
  });

  it('keeps one idempotency record per (actor, key)', async () => {
    await inTransaction(async (c) => {
      const insert = `INSERT INTO crm.idempotency_keys (key, actor, method, path, request_hash, expires_at)
                      VALUES ('k1', $1, 'POST', '/contacts', 'h', now() + interval '1 day')`;
      await c.query(insert, ['user-1']);
      await c.query(insert, ['user-2']);

      await expectSqlState(c, insert, '23505', ['user-1']);
    }, 'crm_app');
  });
});

describe('touch_row trigger', () => {
  it('sets updated_at, increments version and keeps created_at on update', async () => {
    await inTransaction(async (c) => {
      const owner = await insertUser(c);
      const id = await insertContact(c, owner, 'lin@example.com');
      // now() is fixed for a transaction, so make the creation look older than the update.
      await c.query('ALTER TABLE crm.contacts DISABLE TRIGGER touch_row');
      await c.query(
        "UPDATE crm.contacts SET created_at = now() - interval '1 day', updated_at = now() - interval '1 day' WHERE id = $1",
        [id],
      );
      await c.query('ALTER TABLE crm.contacts ENABLE TRIGGER touch_row');

      const { rows } = await c.query(
        "UPDATE crm.contacts SET title = 'VP', created_at = now(), version = 42 WHERE id = $1 RETURNING version, created_at < now() AS kept_created, updated_at = now() AS touched",
        [id],
      );

      expect(rows[0]).toEqual({ version: 2, kept_created: true, touched: true });
    });
  });
});
