/**
 * The advisor on a freshly migrated CRM database, connected the way it is in AWS: as
 * crm_monitor (pg_monitor, no superuser). A healthy database yields no high-severity finding and
 * every check runs with the monitoring role's privileges.
 */
import { Client } from 'pg';
import { runAdvisor } from '../../../lambda/advisor/advisor';
import { runMigrations } from '../../../lambda/migrate/runner';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';

describe('runAdvisor on a freshly migrated CRM database', () => {
  let db: TestDatabase;
  let monitor: Client;

  beforeAll(async () => {
    db = await createTestDatabase('crm_advisor_healthy');
    await runMigrations(db.pool, { appliedBy: 'jest' });
    await db.pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await db.pool.query('ANALYZE');
    monitor = new Client({ connectionString: db.url, application_name: 'crm-advisor' });
    await monitor.connect();
    // The embedded cluster's owner is a superuser; act with exactly crm_monitor's privileges.
    await monitor.query('SET ROLE crm_monitor');
  });

  afterAll(async () => {
    await monitor?.end();
    await db?.drop();
  });

  it('runs every check as crm_monitor and finds nothing of high severity', async () => {
    const report = await runAdvisor(monitor);

    expect(report.findings.filter((f) => f.id === 'advisor-check-failed')).toEqual([]);
    expect(report.findings.filter((f) => f.severity === 'high')).toEqual([]);
    expect(report.summary.high).toBe(0);
    expect(report.metrics.statementsTracked).toBeGreaterThanOrEqual(0);
    // the project's own search and list indexes are unused on a fresh database: too early to say
    expect(report.findings.filter((f) => f.id === 'unused-index')).toEqual([]);
    expect(report.findings.filter((f) => f.id === 'unused-indexes-pending')).toHaveLength(1);
    // the CRM schema indexes every foreign key and leaves nothing invalid
    expect(report.findings.filter((f) => /^foreign-key|^invalid-index|^not-valid/.test(f.id))).toEqual([]);
  });

  it('judges memory parameters against the instance memory when it is known', async () => {
    const report = await runAdvisor(monitor, { instanceClass: 'db.m7g.large' });

    expect(report.instance).toEqual({ instanceClass: 'db.m7g.large', memoryGiB: 8 });
    // the embedded server runs with the PostgreSQL default of 128 MB; 25 % of 8 GiB is 2048 MB
    const sharedBuffers = report.findings.find((f) => f.id === 'parameter-shared_buffers');
    expect(sharedBuffers).toMatchObject({
      severity: 'medium',
      evidence: { currentBytes: 128 * 1024 * 1024, recommendedBytes: 2 * 1024 ** 3 },
      action: { config: { field: 'database.parameters.sharedBuffersMb', value: 2048 } },
    });
    expect(report.findings.find((f) => f.id === 'parameter-random_page_cost')?.severity).toBe('low');
  });
});

describe('runAdvisor without pg_stat_statements', () => {
  let db: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase('crm_advisor_nopgss');
    client = new Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('reports the missing extension as info and still runs the other checks', async () => {
    const report = await runAdvisor(client);

    const missing = report.findings.filter((f) => f.id === 'pg-stat-statements-missing');
    expect(missing).toHaveLength(1);
    expect(missing[0].severity).toBe('info');
    expect(missing[0].action.sql).toEqual(['CREATE EXTENSION IF NOT EXISTS pg_stat_statements;']);
    expect(report.findings.some((f) => f.id.startsWith('top-statements'))).toBe(false);
    expect(report.metrics.connections).toBeGreaterThan(0);
    expect(report.findings.filter((f) => f.id === 'advisor-check-failed')).toEqual([]);
  });
});
