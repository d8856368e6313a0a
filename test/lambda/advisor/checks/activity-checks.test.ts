/**
 * The checks of what sessions and statements do, each with a healthy and a planted state, in a
 * fresh database of the shared PostgreSQL 18 test cluster: blocked sessions, intermittently
 * slow statements (and the WHERE clause kept in the text shown), temp-file spills.
 */
import type { Client } from 'pg';
import { blockedSessions } from '../../../../lambda/advisor/checks/blocked-sessions';
import { tempFiles } from '../../../../lambda/advisor/checks/temp-files';
import { topStatements } from '../../../../lambda/advisor/checks/top-statements';
import { shownStatement } from '../../../../lambda/advisor/statement-text';
import { createTestDatabase, type TestDatabase } from '../../../helpers/database';
import { connect, expectNoFailedChecks, findingsOf, only, runChecks, waitFor } from './helpers';

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
  db = await createTestDatabase('crm_adv_activity');
  client = await connect(db.url);
  await client.query('CREATE EXTENSION pg_stat_statements');
  await client.query('CREATE TABLE deals (id int PRIMARY KEY, stage text NOT NULL, amount numeric NOT NULL)');
  await client.query("INSERT INTO deals SELECT g, 'open', g FROM generate_series(1, 100) g");
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

describe('blocked-sessions: sessions waiting for a lock another session holds', () => {
  let holder: Client;
  let waiter: Client;

  beforeAll(async () => {
    holder = await connect(db.url, 'bulk-import');
    waiter = await connect(db.url, 'crm-api');
  });

  afterAll(async () => {
    await Promise.all([holder?.end(), waiter?.end()]);
  });

  it('stays silent when nobody waits (compliant)', async () => {
    const report = await runChecks(client, [blockedSessions], { sessions: { blockedSeconds: 0 } });

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'blocked-sessions')).toEqual([]);
    expect(report.metrics.blockedSessions).toBe(0);
  });

  it('names the blocker and the sessions it blocks, without statement literals', async () => {
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const waiterPid = (await waiter.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await holder.query('BEGIN');
    await holder.query("UPDATE deals SET stage = 'won-secret-stage' WHERE id = 1");
    const waiting = waiter.query("UPDATE deals SET stage = 'lost-secret-stage' WHERE id = 1");
    await waitFor('a lock wait', async () => {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = $2',
        [waiterPid, 'Lock'],
      );
      return rows[0].n === 1 ? true : undefined;
    });
    try {
      // a fresh wait is normal lock traffic under the default threshold
      const quiet = await runChecks(client, [blockedSessions]);
      expect(findingsOf(quiet, 'blocked-sessions')).toEqual([]);
      expect(quiet.metrics.blockedSessions).toBe(1);

      const report = await runChecks(client, [blockedSessions], { sessions: { blockedSeconds: 0 } });
      const f = only(report, 'blocked-sessions', `pid ${holderPid}`);

      expect(f.severity).toBe('medium');
      expect(f.evidence).toMatchObject({
        blockerPid: holderPid,
        blockerApplication: 'bulk-import',
        blockerState: 'idle in transaction',
        blockerStatementPrefix: 'UPDATE deals SET stage = ? WHERE id = ?',
      });
      expect(f.evidence.blocked).toEqual([
        expect.objectContaining({
          pid: waiterPid,
          application: 'crm-api',
          waitEvent: 'Lock:transactionid',
          statementPrefix: 'UPDATE deals SET stage = ? WHERE id = ?',
        }),
      ]);
      expect(JSON.stringify(report)).not.toMatch(/secret-stage/);
      expect(f.action.sql).toEqual([
        `SELECT pg_cancel_backend(${holderPid});`,
        `SELECT pg_terminate_backend(${holderPid});`,
      ]);
      const high = await runChecks(client, [blockedSessions], {
        sessions: { blockedSeconds: 0, veryBlockedSeconds: 0 },
      });
      expect(only(high, 'blocked-sessions').severity).toBe('high');
    } finally {
      await holder.query('ROLLBACK');
      await waiting;
    }
  });
});

describe('intermittent-slow-statement: fast on average, slow now and then', () => {
  // a long select list: the WHERE clause must survive the cut to 200 characters
  const columns = Array.from({ length: 30 }, (_, i) => `amount AS amount_${i}`).join(', ');
  const statement = `SELECT ${columns} FROM deals WHERE id = $1 AND pg_sleep($2) IS NOT NULL`;

  beforeAll(async () => {
    await client.query('SELECT pg_stat_statements_reset()');
  });

  it('stays silent on a statement whose calls all take about as long (compliant)', async () => {
    for (let i = 0; i < 10; i++) await client.query(statement, [1, 0.03]);

    const report = await runChecks(client, [topStatements], { statements: { intermittentMaxMs: 100 } });

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'intermittent-slow-statement')).toEqual([]);
  });

  it('finds the statement with one slow call, using max and stddev, and shows its WHERE clause', async () => {
    await client.query('SELECT pg_stat_statements_reset()');
    for (let i = 0; i < 19; i++) await client.query(statement, [1, 0]);
    await client.query(statement, [1, 0.4]);

    const report = await runChecks(client, [topStatements], { statements: { intermittentMaxMs: 300 } });
    const f = only(report, 'intermittent-slow-statement');

    expect(f.severity).toBe('low');
    expect(f.evidence.calls).toBe(20);
    expect(f.evidence.maxMs).toBeGreaterThanOrEqual(400);
    expect(f.evidence.meanMs).toBeLessThan(50);
    expect(f.evidence.stddevMs).toBeGreaterThan(f.evidence.meanMs as number);
    const shown = String(f.evidence.statement);
    expect(shown.length).toBeLessThanOrEqual(200);
    expect(shown).toMatch(/^SELECT amount AS amount_0, /);
    expect(shown).toMatch(/ … WHERE id = \$1 AND pg_sleep\(\$2\) IS NOT NULL$/);
    // the mean alone would not have flagged it
    expect(findingsOf(report, 'slow-statement')).toEqual([]);
  });

  it('keeps a short statement as is and cuts one without WHERE at the end', () => {
    expect(shownStatement("SELECT 1 FROM deals WHERE stage = 'won'", 200)).toBe('SELECT ? FROM deals WHERE stage = ?');
    expect(shownStatement(`SELECT ${columns} FROM deals`, 50)).toHaveLength(50);
  });
});

describe('temp-file-spills: sorts that do not fit in work_mem', () => {
  it('stays silent while nothing spilled (compliant)', async () => {
    const report = await runChecks(client, [tempFiles]);

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'temp-file-spills')).toEqual([]);
    expect(report.metrics.tempFileBytes).toBe(0);
  });

  it('finds the spill and the statement that wrote the temporary blocks', async () => {
    await client.query("SET work_mem = '64kB'");
    await client.query('SELECT g, md5(g::text) AS h FROM generate_series(1, 200000) g ORDER BY h LIMIT 5');
    await client.query('RESET work_mem');
    await client.query('SELECT pg_stat_force_next_flush()');
    await waitFor('temp_bytes', async () => {
      const { rows } = await client.query<{ b: string }>(
        'SELECT temp_bytes::text AS b FROM pg_stat_database WHERE datname = current_database()',
      );
      return Number(rows[0].b) > 0 ? true : undefined;
    });

    const report = await runChecks(client, [tempFiles], { tempFiles: { lowBytes: 1024 } });
    const f = only(report, 'temp-file-spills');

    expect(f.severity).toBe('low');
    expect(f.evidence.tempBytes).toBeGreaterThan(1024 * 1024);
    expect(f.evidence.workMemBytes).toBe(4 * 1024 * 1024);
    expect(f.evidence.statements).toContainEqual(
      expect.objectContaining({ statement: expect.stringMatching(/ORDER BY h LIMIT \$\d/) }),
    );
    expect(f.action.config).toEqual({ field: 'database.parameters.workMemMb', value: 8 });
  });
});
