/**
 * The advisor against a real PostgreSQL 18 (pg_stat_statements preloaded by jest globalSetup).
 * Each situation is built on purpose in a fresh database; the advisor runs once and every test
 * asserts one finding and its evidence. Statistics views are database- or cluster-wide, so
 * every assertion is scoped to objects of this test's own database.
 */
import { Client } from 'pg';
import { runAdvisor } from '../../../lambda/advisor/advisor';
import { cacheHit } from '../../../lambda/advisor/checks/cache-hit';
import { connections } from '../../../lambda/advisor/checks/connections';
import { topStatements } from '../../../lambda/advisor/checks/top-statements';
import { vacuumAnalyze } from '../../../lambda/advisor/checks/vacuum-analyze';
import type { AdvisorReport, Check, Finding } from '../../../lambda/advisor/types';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';

/** Polls until `probe` returns a value other than undefined; never sleeps blindly. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, attempts = 200): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function findingsOf(report: AdvisorReport, id: string, subject?: string): Finding[] {
  return report.findings.filter((f) => f.id === id && (subject === undefined || f.subject === subject));
}

function only(report: AdvisorReport, id: string, subject?: string): Finding {
  const found = findingsOf(report, id, subject);
  if (found.length !== 1) {
    throw new Error(`expected one ${id} ${subject ?? ''} finding, got ${found.length}: ${JSON.stringify(found)}`);
  }
  return found[0];
}

describe('runAdvisor on a database with known problems', () => {
  let db: TestDatabase;
  let work: Client;
  let idle: Client;
  let sleeper: Client;
  let sleeping: Promise<unknown>;
  let advisor: Client;
  let idlePid: number;
  let sleeperPid: number;
  let report: AdvisorReport;
  const lookedUpEmail = 'person-41234@example.test';

  beforeAll(async () => {
    db = await createTestDatabase('crm_advisor');
    work = new Client({ connectionString: db.url });
    idle = new Client({ connectionString: db.url, application_name: 'leaky-worker' });
    sleeper = new Client({ connectionString: db.url, application_name: 'slow-report' });
    advisor = new Client({ connectionString: db.url, application_name: 'crm-advisor' });
    await Promise.all([work.connect(), idle.connect(), sleeper.connect(), advisor.connect()]);
    await work.query('CREATE EXTENSION pg_stat_statements');
    // one process per scan, so seq_scan counts are exact
    await work.query('SET max_parallel_workers_per_gather = 0');

    // A big table with an unused index on external_ref, looked up by email (no index) repeatedly.
    await work.query(`
      CREATE TABLE people (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        email text NOT NULL,
        external_ref text NOT NULL,
        note text
      )`);
    await work.query(`
      INSERT INTO people (email, external_ref, note)
      SELECT 'person-' || g || '@example.test', 'ref-' || lpad(g::text, 8, '0'), repeat('x', 40)
        FROM generate_series(1, 50000) g`);
    await work.query('CREATE INDEX people_external_ref_idx ON people (external_ref)');
    for (let i = 0; i < 6; i++) {
      await work.query('SELECT id FROM people WHERE email = $1', [lookedUpEmail]);
    }

    // Duplicate and overlapping indexes.
    await work.query('CREATE TABLE deals (id serial PRIMARY KEY, owner_id int NOT NULL, stage text NOT NULL)');
    await work.query("INSERT INTO deals (owner_id, stage) SELECT g % 50, 'open' FROM generate_series(1, 2000) g");
    await work.query('CREATE INDEX deals_owner_idx ON deals (owner_id)');
    await work.query('CREATE INDEX deals_owner_idx_copy ON deals (owner_id)');
    await work.query('CREATE INDEX deals_owner_stage_idx ON deals (owner_id, stage)');

    // Dead tuples: every row updated once, autovacuum off on the table so nothing cleans up.
    await work.query(
      'CREATE TABLE activities (id int PRIMARY KEY, done boolean NOT NULL DEFAULT false) WITH (autovacuum_enabled = false)',
    );
    await work.query('INSERT INTO activities (id) SELECT g FROM generate_series(1, 10000) g');
    await work.query('UPDATE activities SET done = true');

    // A standalone int4 sequence at 93 %, and a bigint sequence behind an int4 key at 84 %.
    await work.query('CREATE SEQUENCE invoice_number AS integer');
    await work.query("SELECT setval('invoice_number', 2000000000)");
    await work.query('CREATE SEQUENCE ticket_id_seq AS bigint');
    await work.query("CREATE TABLE tickets (id integer PRIMARY KEY DEFAULT nextval('ticket_id_seq'))");
    await work.query("SELECT setval('ticket_id_seq', 1800000000)");

    // Push this session's pending statistics now rather than within the next 10 s.
    await work.query('SELECT pg_stat_force_next_flush()');
    await work.query('SELECT 1');
    await waitFor('table statistics', async () => {
      const { rows } = await advisor.query<{ n: string }>(
        "SELECT n_dead_tup::text AS n FROM pg_stat_user_tables WHERE relname = 'activities'",
      );
      return Number(rows[0]?.n ?? 0) >= 10000 ? true : undefined;
    });

    // An idle-in-transaction session, visible in pg_stat_activity before the advisor runs.
    idlePid = (await idle.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await idle.query('BEGIN');
    await idle.query("SELECT count(*) FROM people WHERE email = 'secret-person@example.test'");
    await waitFor('idle in transaction', async () => {
      const { rows } = await advisor.query<{ state: string }>('SELECT state FROM pg_stat_activity WHERE pid = $1', [
        idlePid,
      ]);
      return rows[0]?.state === 'idle in transaction' ? true : undefined;
    });

    // A long-running statement, cancelled after the advisor has run.
    sleeperPid = (await sleeper.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    sleeping = sleeper.query("SELECT pg_sleep(120), 'do-not-report-me'").catch(() => undefined);
    await waitFor('active statement', async () => {
      const { rows } = await advisor.query<{ state: string; query: string }>(
        'SELECT state, query FROM pg_stat_activity WHERE pid = $1',
        [sleeperPid],
      );
      return rows[0]?.state === 'active' && rows[0].query.includes('pg_sleep') ? true : undefined;
    });

    report = await runAdvisor(advisor, {
      // statistics of a fresh test database are seconds old: judge index usage anyway
      thresholds: {
        sessions: { idleInTransactionSeconds: 0, longRunningSeconds: 0 },
        unusedIndexes: { minStatsAgeDays: 0 },
      },
      now: () => new Date('2026-11-28T06:00:00Z'),
    });
  });

  afterAll(async () => {
    await idle?.query('ROLLBACK').catch(() => {});
    await advisor?.query('SELECT pg_cancel_backend($1)', [sleeperPid]).catch(() => {});
    await sleeping;
    await Promise.all([work?.end(), idle?.end(), sleeper?.end(), advisor?.end()]);
    await db?.drop();
  });

  it('describes the database it ran on', () => {
    expect(report.database).toBe(db.name);
    expect(report.serverVersion).toMatch(/^18\./);
    expect(report.generatedAt).toBe('2026-11-28T06:00:00.000Z');
    expect(report.summary.high + report.summary.medium + report.summary.low + report.summary.info).toBe(
      report.findings.length,
    );
    expect(findingsOf(report, 'advisor-check-failed')).toEqual([]);
  });

  it('orders findings by severity, high first', () => {
    const order = ['high', 'medium', 'low', 'info'];
    const ranks = report.findings.map((f) => order.indexOf(f.severity));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });

  it('finds the unused index with its size, and not the primary key', () => {
    const f = only(report, 'unused-index', 'public.people_external_ref_idx');
    expect(f.evidence).toMatchObject({ table: 'public.people', indexScans: 0, supportsForeignKey: false });
    expect(f.evidence.sizeBytes).toBeGreaterThan(1024 * 1024);
    expect(f.severity).toBe('low');
    expect(f.action.sql).toEqual(['DROP INDEX CONCURRENTLY IF EXISTS public.people_external_ref_idx;']);
    expect(findingsOf(report, 'unused-index', 'public.people_pkey')).toEqual([]);
  });

  it('lists small unused indexes together in one info finding', () => {
    const f = only(report, 'unused-indexes-small');
    expect(f.severity).toBe('info');
    const names = (f.evidence.indexes as { index: string }[]).map((i) => i.index);
    expect(names).toEqual(expect.arrayContaining(['public.deals_owner_idx', 'public.deals_owner_stage_idx']));
    expect(names).not.toContain('public.people_external_ref_idx');
  });

  it('finds the duplicate index and keeps the older one', () => {
    const f = only(report, 'duplicate-index', 'public.deals_owner_idx');
    expect(f.severity).toBe('medium');
    expect(f.evidence).toMatchObject({ table: 'public.deals', keep: 'public.deals_owner_idx' });
    expect(f.action.sql).toEqual(['DROP INDEX CONCURRENTLY IF EXISTS public.deals_owner_idx_copy;']);
  });

  it('finds the index that is a left prefix of another', () => {
    const f = only(report, 'overlapping-index', 'public.deals_owner_idx');
    expect(f.evidence).toMatchObject({
      redundant: 'public.deals_owner_idx',
      coveredBy: 'public.deals_owner_stage_idx',
    });
  });

  it('finds the big table read by sequential scans, with the statement that scans it', () => {
    const f = only(report, 'seq-scan-heavy-table', 'public.people');
    expect(f.evidence.seqScans).toBeGreaterThanOrEqual(6);
    expect(f.evidence.seqTupRead).toBeGreaterThanOrEqual(6 * 50000);
    expect(f.evidence.liveRows).toBe(50000);
    const candidates = f.evidence.candidateStatements as { statement: string; calls: number }[];
    expect(candidates).toContainEqual(
      expect.objectContaining({
        statement: 'SELECT id FROM people WHERE email = $1',
        calls: 6,
        filterColumns: 'email',
      }),
    );
    // the column named comes from the statement's WHERE clause, not from a placeholder
    expect(f.evidence.suggestedColumn).toBe('email');
    expect(f.action.sql).toEqual(['CREATE INDEX CONCURRENTLY ON public.people (email);']);
  });

  it('reports the disabled autovacuum once, with the dead tuples and overdue vacuum it causes', () => {
    const f = only(report, 'autovacuum-disabled', 'public.activities');
    expect(f.severity).toBe('medium');
    expect(f.evidence).toMatchObject({ deadTuples: 10000, liveTuples: 10000, deadTupleRatio: 0.5 });
    expect(f.evidence.estimatedBloatBytes).toBeGreaterThan(0);
    expect(f.evidence.autovacuumTrigger).toBeGreaterThan(0);
    expect((f.evidence.related as { id: string }[]).map((r) => r.id).sort()).toEqual(['dead-tuples', 'vacuum-overdue']);
    expect(f.action.sql).toEqual([
      'ALTER TABLE public.activities RESET (autovacuum_enabled);',
      'VACUUM (ANALYZE) public.activities;',
    ]);
    expect(findingsOf(report, 'dead-tuples', 'public.activities')).toEqual([]);
    expect(findingsOf(report, 'vacuum-overdue', 'public.activities')).toEqual([]);
    expect(report.metrics.maxDeadTupleRatio).toBeGreaterThanOrEqual(0.5);
  });

  it('finds the idle-in-transaction session without its statement literals', () => {
    const f = only(report, 'idle-in-transaction', `pid ${idlePid}`);
    expect(f.evidence).toMatchObject({ pid: idlePid, state: 'idle in transaction', application: 'leaky-worker' });
    expect(f.evidence.durationSeconds).toBeGreaterThanOrEqual(0);
    expect(f.evidence.statementPrefix).toBe('SELECT count(*) FROM people WHERE email = ?');
    expect(JSON.stringify(report)).not.toContain('secret-person');
    expect(f.action.sql).toEqual([`SELECT pg_terminate_backend(${idlePid});`]);
    expect(report.metrics.idleInTransactionSessions).toBe(1);
  });

  it('finds the long-running statement by pid, role and duration, without its literals', () => {
    const f = only(report, 'long-running-query', `pid ${sleeperPid}`);
    expect(f.evidence).toMatchObject({ pid: sleeperPid, state: 'active', application: 'slow-report' });
    expect(f.evidence.statementPrefix).toBe('SELECT pg_sleep(?), ?');
    expect(f.action.sql?.[0]).toBe(`SELECT pg_cancel_backend(${sleeperPid});`);
    expect(JSON.stringify(report)).not.toContain('do-not-report-me');
    expect(report.metrics.longRunningQueries).toBe(1);
  });

  it('does not report its own session', () => {
    const pids = report.findings
      .filter((f) => f.id === 'idle-in-transaction' || f.id === 'long-running-query')
      .map((f) => f.evidence.pid);
    expect(pids.sort()).toEqual([idlePid, sleeperPid].sort());
  });

  it('breaks connection usage down by client when it crosses a threshold', async () => {
    const r = await runAdvisor(advisor, {
      checks: [connections],
      thresholds: { connections: { lowRatio: 0, mediumRatio: 0.999, highRatio: 0.9999 } },
    });
    const f = only(r, 'connection-usage');
    expect(f.severity).toBe('low');
    expect(f.evidence.byClient).toContainEqual(
      expect.objectContaining({ application: 'leaky-worker', state: 'idle in transaction', connections: 1 }),
    );
  });

  it('judges the cache hit ratio once there is enough activity', async () => {
    const r = await runAdvisor(advisor, {
      checks: [cacheHit],
      thresholds: { cache: { minBlockAccesses: 0, lowRatio: 1.01, mediumRatio: 0, highRatio: 0 } },
    });
    const f = only(r, 'cache-hit-ratio');
    expect(f.severity).toBe('low');
    expect(f.evidence.cacheHitRatio).toBe(r.metrics.cacheHitRatio);
    expect(f.action.config?.field).toBe('database.instanceClass');
  });

  it('turns a failing check into a finding and still reports the others', async () => {
    const broken: Check = {
      name: 'broken',
      run: async () => {
        throw Object.assign(new Error('permission denied for view pg_stat_statements'), { code: '42501' });
      },
    };
    const errors: string[] = [];
    const r = await runAdvisor(advisor, { checks: [broken, connections], onCheckError: (name) => errors.push(name) });
    const f = only(r, 'advisor-check-failed', 'broken');
    expect(f.evidence).toMatchObject({ check: 'broken', sqlState: '42501' });
    expect(f.action.sql).toEqual(['GRANT pg_monitor TO crm_monitor;']);
    expect(errors).toEqual(['broken']);
    expect(r.metrics.connections).toBeGreaterThan(0);
  });

  it('finds the sequence near exhaustion', () => {
    const f = only(report, 'sequence-exhaustion', 'public.invoice_number');
    expect(f.severity).toBe('high');
    expect(f.evidence).toMatchObject({ lastValue: 2000000000, limit: 2147483647, limitedBy: 'sequence' });
    expect(f.action.sql).toEqual(['ALTER SEQUENCE public.invoice_number AS bigint;']);
  });

  it('finds the int4 key that runs out before its bigint sequence', () => {
    const f = only(report, 'sequence-exhaustion', 'public.ticket_id_seq');
    expect(f.severity).toBe('medium');
    expect(f.evidence).toMatchObject({
      limitedBy: 'column',
      table: 'public.tickets',
      column: 'id',
      columnType: 'integer',
      sequenceType: 'bigint',
    });
    expect(f.action.sql?.[0]).toBe('ALTER TABLE public.tickets ALTER COLUMN id TYPE bigint;');
  });

  it('lists a statement it ran among the top statements, with calls and an approximate p95', () => {
    const f = only(report, 'top-statements-by-total-time');
    const statements = f.evidence.statements as { statement: string; calls: number; p95ApproxMs: number }[];
    const mine = statements.find((s) => s.statement === 'SELECT id FROM people WHERE email = $1');
    expect(mine).toMatchObject({ calls: 6 });
    expect(mine?.p95ApproxMs).toBeGreaterThanOrEqual(0);
    expect(f.evidence.note).toMatch(/approximation/);
    expect(report.metrics.statementsTracked).toBeGreaterThan(0);
  });

  it('leaves its own statements out of the rankings', async () => {
    const r = await runAdvisor(advisor, {
      checks: [vacuumAnalyze, topStatements],
      thresholds: { statements: { topN: 1000 } },
    });
    const all = only(r, 'top-statements-by-total-time').evidence.statements as { statement: string }[];
    expect(all.length).toBeGreaterThan(5);
    expect(all.filter((s) => /datfrozenxid|pg_stat_user_tables s/.test(s.statement))).toEqual([]);
    // they are recorded, marked with a trailing comment
    const { rows } = await advisor.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_statements WHERE query LIKE '%datfrozenxid%/* crm-advisor */'",
    );
    expect(rows[0].n).toBeGreaterThan(0);
  });

  it('keeps parameter advice at info level when instance memory is unknown', () => {
    const params = report.findings.filter((f) => f.id.startsWith('parameter'));
    expect(params.length).toBeGreaterThan(0);
    expect(params.every((f) => f.severity === 'info')).toBe(true);
  });

  it('publishes connection usage against max_connections', () => {
    expect(report.metrics.maxConnections).toBe(200);
    expect(report.metrics.connections).toBeGreaterThanOrEqual(3);
    expect(report.metrics.connectionUsageRatio).toBeGreaterThan(0);
  });
});
