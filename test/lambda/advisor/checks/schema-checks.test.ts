/**
 * The per-table and per-index checks, each with a healthy and a planted state (cdk-nag's
 * pattern), in a fresh database of the shared PostgreSQL 18 test cluster. Where the finding
 * gives SQL, the test runs it and shows the finding gone.
 */
import type { Client } from 'pg';
import { foreignKeyIndexes } from '../../../../lambda/advisor/checks/foreign-key-indexes';
import { invalidIndexes } from '../../../../lambda/advisor/checks/invalid-indexes';
import { notValidConstraints } from '../../../../lambda/advisor/checks/not-valid-constraints';
import { seqScans } from '../../../../lambda/advisor/checks/seq-scans';
import { unusedIndexes } from '../../../../lambda/advisor/checks/unused-indexes';
import { vacuumAnalyze } from '../../../../lambda/advisor/checks/vacuum-analyze';
import { createTestDatabase, type TestDatabase } from '../../../helpers/database';
import { connect, expectNoFailedChecks, findingsOf, only, runActionSql, runChecks, waitFor } from './helpers';

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
  db = await createTestDatabase('crm_adv_schema');
  client = await connect(db.url);
  await client.query('CREATE EXTENSION pg_stat_statements');
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

/** Flushes this session's pending statistics and waits until `probe` sees them. */
async function flushStats(probe: () => Promise<boolean>): Promise<void> {
  await client.query('SELECT pg_stat_force_next_flush()');
  await client.query('SELECT 1');
  await waitFor('statistics', async () => ((await probe()) ? true : undefined));
}

describe('invalid-index: what a failed CREATE INDEX CONCURRENTLY leaves', () => {
  beforeAll(async () => {
    await client.query('CREATE TABLE members (id int PRIMARY KEY, email text NOT NULL)');
    await client.query(
      "INSERT INTO members VALUES (1, 'a@example.test'), (2, 'b@example.test'), (3, 'a@example.test')",
    );
  });

  it('stays silent on valid indexes (compliant)', async () => {
    await client.query('CREATE INDEX members_email_idx ON members (email)');

    const report = await runChecks(client, [invalidIndexes]);

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'invalid-index')).toEqual([]);
    await client.query('DROP INDEX members_email_idx');
  });

  it('finds the INVALID index a failed concurrent build left, and its advice rebuilds it', async () => {
    await expect(client.query('CREATE UNIQUE INDEX CONCURRENTLY members_email_key ON members (email)')).rejects.toThrow(
      /could not create unique index/,
    );

    const f = only(await runChecks(client, [invalidIndexes]), 'invalid-index', 'public.members_email_key');

    expect(f.severity).toBe('medium');
    expect(f.evidence).toMatchObject({ table: 'public.members', unique: true });
    expect(f.action.sql).toEqual(['REINDEX INDEX CONCURRENTLY public.members_email_key;']);
    expect(f.action.alternative?.sql).toEqual(['DROP INDEX CONCURRENTLY IF EXISTS public.members_email_key;']);
    // the duplicate that made the build fail has to go first; then the advice works
    await client.query('DELETE FROM members WHERE id = 3');
    await runActionSql(client, f.action.sql ?? []);
    expect(findingsOf(await runChecks(client, [invalidIndexes]), 'invalid-index')).toEqual([]);
  });
});

describe('not-valid-constraint: a constraint added NOT VALID and never validated', () => {
  beforeAll(async () => {
    await client.query('CREATE TABLE invoices (id int PRIMARY KEY, amount numeric NOT NULL)');
    await client.query('INSERT INTO invoices SELECT g, g FROM generate_series(1, 100) g');
  });

  it('stays silent on validated constraints (compliant)', async () => {
    await client.query('ALTER TABLE invoices ADD CONSTRAINT invoices_amount_positive CHECK (amount > 0)');

    const report = await runChecks(client, [notValidConstraints]);

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'not-valid-constraint')).toEqual([]);
  });

  it('finds the NOT VALID constraint, and its advice validates it', async () => {
    await client.query('ALTER TABLE invoices ADD CONSTRAINT invoices_amount_capped CHECK (amount < 1000000) NOT VALID');

    const f = only(
      await runChecks(client, [notValidConstraints]),
      'not-valid-constraint',
      'public.invoices.invoices_amount_capped',
    );

    expect(f.evidence).toMatchObject({ kind: 'check', definition: 'CHECK ((amount < (1000000)::numeric)) NOT VALID' });
    expect(f.action.sql).toEqual(['ALTER TABLE public.invoices VALIDATE CONSTRAINT invoices_amount_capped;']);
    await runActionSql(client, f.action.sql ?? []);
    expect(findingsOf(await runChecks(client, [notValidConstraints]), 'not-valid-constraint')).toEqual([]);
  });
});

describe('foreign-key-without-index: deletes of the parent scan the child', () => {
  beforeAll(async () => {
    await client.query('CREATE TABLE accounts (id int PRIMARY KEY)');
    await client.query('INSERT INTO accounts SELECT generate_series(1, 1000)');
    await client.query(
      'CREATE TABLE indexed_children (id int PRIMARY KEY, account_id int NOT NULL REFERENCES accounts (id) ON DELETE CASCADE)',
    );
    await client.query('CREATE INDEX indexed_children_account_id_idx ON indexed_children (account_id)');
    await client.query('INSERT INTO indexed_children SELECT g, g % 1000 + 1 FROM generate_series(1, 20000) g');
    await client.query(
      'CREATE TABLE cascading_children (id int PRIMARY KEY, account_id int NOT NULL REFERENCES accounts (id) ON DELETE CASCADE)',
    );
    await client.query('INSERT INTO cascading_children SELECT g, g % 1000 + 1 FROM generate_series(1, 20000) g');
    await client.query(
      'CREATE TABLE restricting_children (id int PRIMARY KEY, account_id int REFERENCES accounts (id))',
    );
    await client.query('INSERT INTO restricting_children SELECT g, g % 1000 + 1 FROM generate_series(1, 20000) g');
    await client.query('CREATE TABLE few_children (id int PRIMARY KEY, account_id int REFERENCES accounts (id))');
    await client.query('ANALYZE accounts, indexed_children, cascading_children, restricting_children, few_children');
  });

  it('stays silent on an indexed foreign key (compliant)', async () => {
    const report = await runChecks(client, [foreignKeyIndexes]);

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'foreign-key-without-index').map((f) => f.evidence.table)).not.toContain(
      'public.indexed_children',
    );
  });

  it('finds the unindexed foreign keys, cascading ones at medium, small tables as info', async () => {
    const report = await runChecks(client, [foreignKeyIndexes]);

    const cascading = only(
      report,
      'foreign-key-without-index',
      'public.cascading_children.cascading_children_account_id_fkey',
    );
    expect(cascading.severity).toBe('medium');
    expect(cascading.evidence).toMatchObject({ columns: 'account_id', onDelete: 'cascade', cascadingDelete: true });
    expect(cascading.title).toMatch(/cascades/);
    const restricting = only(
      report,
      'foreign-key-without-index',
      'public.restricting_children.restricting_children_account_id_fkey',
    );
    expect(restricting.severity).toBe('low');
    expect(restricting.evidence).toMatchObject({ onDelete: 'no action', cascadingDelete: false });
    const small = only(report, 'foreign-keys-without-index-small');
    expect((small.evidence.foreignKeys as { table: string }[]).map((r) => r.table)).toEqual(['public.few_children']);
  });

  it('gives an index that, once created, silences the finding', async () => {
    const f = only(
      await runChecks(client, [foreignKeyIndexes]),
      'foreign-key-without-index',
      'public.cascading_children.cascading_children_account_id_fkey',
    );

    expect(f.action.sql).toEqual([
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS "cascading_children_account_id_idx" ON public.cascading_children (account_id);',
    ]);
    await runActionSql(client, f.action.sql ?? []);
    const after = await runChecks(client, [foreignKeyIndexes]);
    expect(findingsOf(after, 'foreign-key-without-index').map((x) => x.evidence.table)).toEqual([
      'public.restricting_children',
    ]);
  });
});

describe('seq-scan-heavy-table: the missing index, by column, with parallel scans counted once', () => {
  beforeAll(async () => {
    await client.query(
      'CREATE TABLE leads (id int PRIMARY KEY, email text NOT NULL, region text NOT NULL, score int NOT NULL)',
    );
    await client.query(
      "INSERT INTO leads SELECT g, 'lead-' || g || '@example.test', 'r' || (g % 7), g % 100 FROM generate_series(1, 200000) g",
    );
    await client.query('CREATE INDEX leads_region_idx ON leads (region)');
    await client.query('ANALYZE leads');
  });

  it('stays silent on a table read through its indexes (compliant)', async () => {
    for (let i = 0; i < 6; i++) await client.query('SELECT id FROM leads WHERE id = $1', [i + 1]);
    await flushStats(async () => {
      const { rows } = await client.query("SELECT idx_scan FROM pg_stat_user_tables WHERE relname = 'leads'");
      return Number(rows[0]?.idx_scan ?? 0) >= 6;
    });

    const report = await runChecks(client, [seqScans]);

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'seq-scan-heavy-table', 'public.leads')).toEqual([]);
  });

  it('names the unindexed column the scanning statements filter on, and counts each parallel scan once', async () => {
    await flushStats(async () => true);
    const before = await client.query<{ seq_scan: string }>(
      "SELECT seq_scan::text FROM pg_stat_user_tables WHERE relname = 'leads'",
    );
    await client.query('SET parallel_setup_cost = 0');
    await client.query('SET parallel_tuple_cost = 0');
    await client.query('SET min_parallel_table_scan_size = 0');
    await client.query('SET max_parallel_workers_per_gather = 2');
    for (let i = 0; i < 12; i++) {
      await client.query('SELECT id FROM leads WHERE email = $1 AND score > $2', [`lead-${i}@example.test`, 5]);
    }
    await client.query('RESET ALL');
    const launched = await client.query<{ workers: string }>(
      "SELECT sum(parallel_workers_launched)::text AS workers FROM pg_stat_statements WHERE query LIKE 'SELECT id FROM leads WHERE email%'",
    );
    await flushStats(async () => {
      const { rows } = await client.query("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'leads'");
      return Number(rows[0]?.seq_scan ?? 0) >= Number(before.rows[0].seq_scan) + 12;
    });
    const raw = await client.query<{ seq_scan: string }>(
      "SELECT seq_scan::text FROM pg_stat_user_tables WHERE relname = 'leads'",
    );

    const f = only(await runChecks(client, [seqScans]), 'seq-scan-heavy-table', 'public.leads');

    const workers = Number(launched.rows[0].workers);
    expect(workers).toBeGreaterThan(0);
    expect(f.evidence.parallelWorkerScans).toBe(workers);
    // 12 statements: one scan each, however many processes shared it
    expect(f.evidence.seqScans).toBe(Number(raw.rows[0].seq_scan) - workers);
    expect(f.evidence.seqScans).toBe(Number(before.rows[0].seq_scan) + 12);
    expect(f.evidence.suggestedColumn).toBe('email');
    expect(f.action.sql).toEqual(['CREATE INDEX CONCURRENTLY ON public.leads (email);']);
    expect(f.title).toMatch(/filter on email/);
  });
});

describe('seq-scan-heavy-table: pattern filters get a trigram index, not a b-tree', () => {
  it('suggests gin_trgm_ops for a column searched with ILIKE, and the index it gives serves the search', async () => {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    await client.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
    await client.query(
      "INSERT INTO notes SELECT g, 'note number ' || g || ' about pricing' FROM generate_series(1, 20000) g",
    );
    await client.query('ANALYZE notes');
    for (let i = 0; i < 6; i++) await client.query('SELECT id FROM notes WHERE body ILIKE $1', [`%number ${i}7 %`]);
    await flushStats(async () => {
      const { rows } = await client.query("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'notes'");
      return Number(rows[0]?.seq_scan ?? 0) >= 6;
    });

    const f = only(await runChecks(client, [seqScans]), 'seq-scan-heavy-table', 'public.notes');

    expect(f.evidence.suggestedColumn).toBe('body');
    expect(f.action.sql).toEqual(['CREATE INDEX CONCURRENTLY ON public.notes USING gin (body gin_trgm_ops);']);
    await runActionSql(client, f.action.sql ?? []);
    const plan = await client.query<{ 'QUERY PLAN': string }>(
      "EXPLAIN (COSTS OFF) SELECT id FROM notes WHERE body ILIKE '%number 17 %'",
    );
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Bitmap Index Scan on notes_body_idx/);
  });
});

describe('after a statistics reset: gates on pg_class.reltuples, unused indexes wait', () => {
  beforeAll(async () => {
    await client.query('CREATE TABLE contacts (id int PRIMARY KEY, last_name text NOT NULL, city text)');
    await client.query(
      "INSERT INTO contacts SELECT g, 'name' || g, 'city' || (g % 50) FROM generate_series(1, 30000) g",
    );
    await client.query('CREATE INDEX contacts_last_name_idx ON contacts (last_name)');
    await client.query('CREATE INDEX contacts_city_idx ON contacts (city)');
    await client.query('ANALYZE contacts');
    // never vacuumed nor analysed; autovacuum kept off so it stays that way during the test
    await client.query('CREATE TABLE imports (id int) WITH (autovacuum_enabled = false)');
    await client.query('INSERT INTO imports SELECT generate_series(1, 5000)');
    // counters still pending in this session would land after the reset: flush them first
    await flushStats(async () => {
      const { rows } = await client.query("SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'imports'");
      return Number(rows[0]?.n_live_tup ?? 0) >= 5000;
    });
    await client.query('SELECT pg_stat_reset()');
  });

  it('does not offer the search and list indexes for dropping on young statistics', async () => {
    const report = await runChecks(client, [unusedIndexes]);

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'unused-index')).toEqual([]);
    const pending = only(report, 'unused-indexes-pending');
    expect(pending.severity).toBe('info');
    expect(pending.action.sql).toBeUndefined();
    expect(pending.evidence.statisticsAgeSeconds).toBeLessThan(7 * 86_400);
    expect(report.metrics.statisticsAgeSeconds).toBeLessThan(600);
  });

  it('judges them once the statistics are old enough (here: no minimum age)', async () => {
    const report = await runChecks(client, [unusedIndexes], { unusedIndexes: { minStatsAgeDays: 0, minBytes: 0 } });

    expect(findingsOf(report, 'unused-indexes-pending')).toEqual([]);
    expect(findingsOf(report, 'unused-index').map((f) => f.subject)).toEqual(
      expect.arrayContaining(['public.contacts_last_name_idx', 'public.contacts_city_idx']),
    );
  });

  it('still sees a big table as big when its counters read zero', async () => {
    for (let i = 0; i < 6; i++) await client.query("SELECT count(*) FROM contacts WHERE last_name LIKE '%9'");
    await flushStats(async () => {
      const { rows } = await client.query("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'contacts'");
      return Number(rows[0]?.seq_scan ?? 0) >= 6;
    });
    const live = await client.query<{ n: string }>(
      "SELECT n_live_tup::text AS n FROM pg_stat_user_tables WHERE relname = 'contacts'",
    );
    expect(Number(live.rows[0].n)).toBe(0);

    const f = only(await runChecks(client, [seqScans]), 'seq-scan-heavy-table', 'public.contacts');

    expect(f.evidence.liveRows).toBe(30000);
  });

  it('does not call analysed tables never-analysed, but still finds the one that never was', async () => {
    const report = await runChecks(client, [vacuumAnalyze], { vacuum: { neverAnalyzedMinRows: 0 } });

    expect(findingsOf(report, 'never-analyzed', 'public.contacts')).toEqual([]);
    expect(only(report, 'never-analyzed', 'public.imports').severity).toBe('medium');
  });
});
