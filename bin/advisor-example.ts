/**
 * `npm run docs:advisor`: rebuilds the example report of docs/advisor.md from a real run.
 *
 * On the local embedded PostgreSQL 18 (the `.crm/` cluster; PGPORT_LOCAL picks its port) it
 * creates a fresh database `crm_advisor_demo`, applies the CRM migrations, seeds a scaled-up
 * copy of the dev data, runs an API-like workload and plants one problem per kind of finding
 * (the doc lists them). Then it runs the advisor as crm_monitor, the way the Lambda does,
 * and rewrites the text and JSON blocks between the `advisor-example` markers of
 * docs/advisor.md. Local only; it changes nothing but that database, one replication slot it
 * drops again, and the doc.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { runAdvisor } from '../lambda/advisor/advisor';
import { renderReport } from '../lambda/advisor/render';
import type { ThresholdOverrides } from '../lambda/advisor/thresholds';
import { runMigrations } from '../lambda/migrate/runner';
import { startLocalPostgres } from '../lib/local/embedded-postgres';
import { seedDemoData } from '../lib/local/seed';

const DATABASE = 'crm_advisor_demo';
const SLOT = 'crm_demo_gone_replica';
const DOC = join(__dirname, '..', 'docs', 'advisor.md');

/**
 * What the demo runs with instead of the defaults, so a minute-long demo shows what a week of
 * production would: sessions waiting seconds rather than minutes, and temp files of megabytes.
 */
export const DEMO_THRESHOLDS: ThresholdOverrides = {
  sessions: { idleInTransactionSeconds: 5, blockedSeconds: 3 },
  tempFiles: { lowBytes: 1024 * 1024 },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await probe()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function flush(client: Client): Promise<void> {
  await client.query('SELECT pg_stat_force_next_flush()');
  await client.query('SELECT 1');
}

async function buildDemo(url: string): Promise<void> {
  const pool = new Pool({ connectionString: url, max: 4 });
  try {
    await runMigrations(pool, { appliedBy: 'docs:advisor' });
    await seedDemoData(pool, { companies: 1500, contacts: 12000, deals: 3000, activities: 30000 });
    await pool.query('ANALYZE');
    const c = await pool.connect();
    try {
      // the rankings show the workload below, not the migrations and the seed
      await c.query(
        'SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)',
      );
      const contactIds = (await c.query<{ id: string }>('SELECT id FROM crm.contacts ORDER BY id LIMIT 300')).rows;
      for (const { id } of contactIds)
        await c.query('SELECT * FROM crm.contacts WHERE id = $1 AND deleted_at IS NULL', [id]);
      for (let i = 0; i < 60; i++) {
        await c.query('SELECT id, name FROM crm.companies WHERE name ILIKE $1 ORDER BY name LIMIT 20', [
          `%${'aeiou'[i % 5]}%`,
        ]);
        await c.query('SELECT count(*) FROM crm.activities WHERE type = $1', [['note', 'task', 'call'][i % 3]]);
      }
      for (let i = 0; i < 40; i++) {
        await c.query('SELECT count(*) FROM crm.activities WHERE subject ILIKE $1 AND deleted_at IS NULL', [
          `%review ${i}%`,
        ]);
      }
      for (let i = 0; i < 20; i++) {
        await c.query(
          'SELECT id, first_name, last_name, email, title, company_id, owner_id FROM crm.contacts WHERE phone = $1',
          [`+4930${String(1000000 + i)}`],
        );
      }
      for (let i = 0; i < 50; i++) {
        await c.query('UPDATE crm.contacts SET phone = $1 WHERE id = $2', [
          `+4930${String(2000000 + i)}`,
          contactIds[i].id,
        ]);
      }

      await c.query('ALTER TABLE crm.activities SET (autovacuum_enabled = false)');
      await c.query("UPDATE crm.activities SET updated_at = now(), version = version + 1 WHERE type IN ('task')");
      await c.query('CREATE INDEX activities_owner_id_copy_idx ON crm.activities (owner_id)');
      await c.query('DROP INDEX crm.activities_deal_id_idx');
      await c.query('CREATE UNIQUE INDEX CONCURRENTLY contacts_last_name_key ON crm.contacts (last_name)').catch(() => {
        // expected: duplicate last names; the failed build leaves the index INVALID
      });
      await c.query(
        "ALTER TABLE crm.deals ADD CONSTRAINT deals_close_date_plausible CHECK (close_date >= DATE '2000-01-01') NOT VALID",
      );
      await c.query(`CREATE TABLE crm.legacy_invoices (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, deal_id uuid REFERENCES crm.deals (id), number text NOT NULL)`);
      await c.query(`CREATE TABLE crm.legacy_invoice_lines (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        invoice_id integer NOT NULL REFERENCES crm.legacy_invoices (id) ON DELETE CASCADE, amount_minor bigint NOT NULL)`);
      await c.query('CREATE INDEX legacy_invoice_lines_invoice_id_idx ON crm.legacy_invoice_lines (invoice_id)');
      await c.query("SELECT setval(pg_get_serial_sequence('crm.legacy_invoices', 'id'), 2050000000)");
      await c.query("INSERT INTO crm.legacy_invoices (number) SELECT 'INV-' || g FROM generate_series(1, 100) g");
      await c.query('BEGIN');
      await c.query("SET LOCAL work_mem = '64kB'");
      await c.query('SELECT id, subject, due_at FROM crm.activities ORDER BY subject, created_at');
      await c.query('COMMIT');
      await c.query(`SELECT pg_create_physical_replication_slot('${SLOT}', true)`);
      await c.query('CREATE TABLE crm_demo_wal AS SELECT g, md5(g::text) AS v FROM generate_series(1, 50000) g');
      await c.query('DROP TABLE crm_demo_wal');
      await flush(c);
    } finally {
      c.release();
    }
  } finally {
    await pool.end();
  }
}

/** One update that waits 1.5 s for another session's lock: the statement is fast on every other call. */
async function brieflyBlockedUpdate(url: string): Promise<void> {
  const holder = new Client({ connectionString: url, application_name: 'crm-import' });
  const waiter = new Client({ connectionString: url, application_name: 'crm-api' });
  await Promise.all([holder.connect(), waiter.connect()]);
  try {
    const id = (await holder.query<{ id: string }>('SELECT id FROM crm.contacts ORDER BY id OFFSET 400 LIMIT 1'))
      .rows[0].id;
    await holder.query('BEGIN');
    await holder.query('UPDATE crm.contacts SET title = title WHERE id = $1', [id]);
    const waiting = waiter.query('UPDATE crm.contacts SET phone = $1 WHERE id = $2', ['+4930300000', id]);
    await sleep(1500);
    await holder.query('COMMIT');
    await waiting;
    await flush(waiter);
  } finally {
    await Promise.all([holder.end(), waiter.end()]);
  }
}

async function writeDoc(text: string, json: string): Promise<void> {
  const doc = readFileSync(DOC, 'utf8');
  const replaced = doc
    .replace(
      /(<!-- advisor-example:text -->)[\s\S]*?(<!-- \/advisor-example:text -->)/,
      (_m, a: string, b: string) => `${a}\n\`\`\`text\n${text.trimEnd()}\n\`\`\`\n${b}`,
    )
    .replace(
      /(<!-- advisor-example:json -->)[\s\S]*?(<!-- \/advisor-example:json -->)/,
      (_m, a: string, b: string) => `${a}\n\`\`\`json\n${json}\n\`\`\`\n${b}`,
    );
  if (replaced === doc && !doc.includes('<!-- advisor-example:text -->')) {
    throw new Error(`${DOC} has no <!-- advisor-example:text --> markers`);
  }
  writeFileSync(DOC, replaced);
}

async function main(): Promise<void> {
  const local = await startLocalPostgres();
  const admin = new Client({ connectionString: local.url.replace(/\/crm$/, '/postgres') });
  await admin.connect();
  const clients: Client[] = [];
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await admin.query(
      `SELECT pg_drop_replication_slot('${SLOT}') FROM pg_replication_slots WHERE slot_name = '${SLOT}'`,
    );
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    const url = local.url.replace(/\/crm$/, `/${DATABASE}`);
    await buildDemo(url);
    await brieflyBlockedUpdate(url);

    // a client left idle in its transaction, and an API update of the same contact waiting for it
    const leaky = new Client({ connectionString: url, application_name: 'crm-import' });
    const api = new Client({ connectionString: url, application_name: 'crm-api' });
    const advisor = new Client({ connectionString: url, application_name: 'crm-advisor' });
    clients.push(leaky, api, advisor);
    await Promise.all(clients.map((c) => c.connect()));
    const id = (await leaky.query<{ id: string }>('SELECT id FROM crm.contacts ORDER BY id OFFSET 500 LIMIT 1')).rows[0]
      .id;
    await leaky.query('BEGIN');
    await leaky.query(`UPDATE crm.contacts SET phone = '+4915112345678' WHERE id = '${id}'`);
    const apiPid = (await api.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const waiting = api.query('UPDATE crm.contacts SET phone = $1 WHERE id = $2', ['+4930400000', id]).catch(() => {});
    await waitUntil('the lock wait', async () => {
      const { rows } = await advisor.query(
        "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
        [apiPid],
      );
      return rows.length === 1;
    });
    await sleep(6000);
    // as in AWS: the monitoring role, no superuser
    await advisor.query('SET ROLE crm_monitor');
    const report = await runAdvisor(advisor, { instanceClass: 'db.m7g.large', thresholds: DEMO_THRESHOLDS });
    await leaky.query('ROLLBACK');
    await waiting;

    const text = renderReport(report);
    if (text.includes('+4915112345678')) throw new Error('the idle session’s phone number leaked into the report');
    const shown = report.findings.find((f) => f.id === 'sequence-exhaustion') ?? report.findings[0];
    const { thresholds: _thresholds, ...rest } = report;
    const json = JSON.stringify({ ...rest, findings: [shown, '…'] }, null, 2);
    await writeDoc(text, json);
    console.log(`wrote ${DOC}: ${report.findings.length} findings (${JSON.stringify(report.summary)})`);
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await admin.query(
      `SELECT pg_drop_replication_slot('${SLOT}') FROM pg_replication_slots WHERE slot_name = '${SLOT}'`,
    );
    await admin.end();
    await local.stop();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(`docs:advisor: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
