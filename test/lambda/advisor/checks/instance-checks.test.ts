/**
 * The instance-wide checks, each with a healthy and a planted state, on a private PostgreSQL 18
 * cluster (cluster.ts) so nothing planted here reaches the shared test cluster:
 * inactive replication slots, requested checkpoints, pg_stat_statements deallocations and
 * pgtune's WAL / checkpoint / I/O / JIT parameters.
 */
import type { Client } from 'pg';
import { runAdvisor } from '../../../../lambda/advisor/advisor';
import { checkpoints } from '../../../../lambda/advisor/checks/checkpoints';
import { parameters } from '../../../../lambda/advisor/checks/parameters';
import { replicationSlots } from '../../../../lambda/advisor/checks/replication-slots';
import { topStatements } from '../../../../lambda/advisor/checks/top-statements';
import { type PrivateCluster, startPrivateCluster } from './cluster';
import { connect, expectNoFailedChecks, findingsOf, only, runChecks } from './helpers';

let cluster: PrivateCluster;
let client: Client;

beforeAll(async () => {
  cluster = await startPrivateCluster();
  client = await connect(cluster.url);
  await client.query('CREATE EXTENSION pg_stat_statements');
});

afterAll(async () => {
  await client?.end();
  await cluster?.stop();
});

describe('inactive-replication-slot: WAL held for a consumer that is gone', () => {
  afterEach(async () => {
    await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots');
  });

  it('stays silent without slots (compliant)', async () => {
    const report = await runChecks(client, [replicationSlots]);

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'inactive-replication-slot')).toEqual([]);
    expect(report.metrics.inactiveReplicationSlots).toBe(0);
  });

  it('finds a physical slot that reserves WAL with nobody reading it', async () => {
    await client.query("SELECT pg_create_physical_replication_slot('gone_replica', true)");
    // write some WAL past the slot's restart point
    await client.query('CREATE TABLE wal_filler AS SELECT g, md5(g::text) AS v FROM generate_series(1, 20000) g');
    await client.query('DROP TABLE wal_filler');

    const report = await runChecks(client, [replicationSlots]);
    const f = only(report, 'inactive-replication-slot', 'gone_replica');

    expect(f.severity).toBe('low');
    expect(f.evidence).toMatchObject({ slotType: 'physical', walStatus: 'reserved', database: null });
    expect(f.evidence.retainedWalBytes).toBeGreaterThan(1024 * 1024);
    expect(f.action.sql).toEqual(["SELECT pg_drop_replication_slot('gone_replica');"]);
    const medium = await runChecks(client, [replicationSlots], { replicationSlots: { mediumRetainedBytes: 1 } });
    expect(only(medium, 'inactive-replication-slot', 'gone_replica').severity).toBe('medium');
    const high = await runChecks(client, [replicationSlots], { replicationSlots: { highRetainedBytes: 1 } });
    expect(only(high, 'inactive-replication-slot', 'gone_replica').severity).toBe('high');
  });

  it('finds a logical slot, names its database, and its advice removes it', async () => {
    await client.query("SELECT pg_create_logical_replication_slot('old_cdc', 'pgoutput')");

    const report = await runChecks(client, [replicationSlots]);
    const f = only(report, 'inactive-replication-slot', 'old_cdc');

    expect(f.evidence).toMatchObject({ slotType: 'logical', plugin: 'pgoutput', database: 'postgres' });
    expect(f.evidence.catalogXminAge).toBeGreaterThanOrEqual(0);
    for (const sql of f.action.sql ?? []) await client.query(sql);
    expect(findingsOf(await runChecks(client, [replicationSlots]), 'inactive-replication-slot')).toEqual([]);
  });
});

describe('checkpoints-requested: checkpoints forced before checkpoint_timeout', () => {
  beforeEach(async () => {
    await client.query("SELECT pg_stat_reset_shared('checkpointer')");
  });

  it('does not judge too few checkpoints (compliant)', async () => {
    await client.query('CHECKPOINT');

    const report = await runChecks(client, [checkpoints], { checkpoints: { minCheckpoints: 5 } });

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'checkpoints-requested')).toEqual([]);
  });

  it('finds checkpoints that were requested rather than timed, and names the max_wal_size field', async () => {
    for (let i = 0; i < 6; i++) {
      await client.query('CREATE TABLE IF NOT EXISTS ckpt (v int)');
      await client.query('INSERT INTO ckpt SELECT generate_series(1, 100)');
      await client.query('CHECKPOINT');
    }

    const report = await runChecks(client, [checkpoints], { checkpoints: { minCheckpoints: 5 } });
    const f = only(report, 'checkpoints-requested');

    expect(f.severity).toBe('medium');
    expect(f.evidence.requestedCheckpoints).toBeGreaterThanOrEqual(6);
    expect(f.evidence.requestedRatio).toBeGreaterThanOrEqual(0.6);
    expect(f.evidence.maxWalSizeBytes).toBe(1024 * 1024 * 1024);
    expect(f.action.config).toEqual({ field: 'database.parameters.maxWalSizeMb', value: 4096 });
  });
});

describe('pg-stat-statements-deallocations: more distinct statements than pg_stat_statements keeps', () => {
  it('stays silent while nothing was evicted (compliant)', async () => {
    await client.query('SELECT pg_stat_statements_reset()');

    const report = await runChecks(client, [topStatements]);

    expectNoFailedChecks(report);
    expect(findingsOf(report, 'pg-stat-statements-deallocations')).toEqual([]);
    expect(report.metrics.statementDeallocations).toBe(0);
  });

  it('finds the evictions and suggests a larger pg_stat_statements.max', async () => {
    await client.query('SELECT pg_stat_statements_reset()');
    const columns = Array.from({ length: 150 }, (_, i) => `c${i} int`).join(', ');
    await client.query(`CREATE TABLE wide (${columns})`);
    // 150 statements that differ in structure (each reads another column): 150 entries for 100 places
    for (let i = 0; i < 150; i++) await client.query(`SELECT c${i} FROM wide`);

    const report = await runChecks(client, [topStatements]);
    const f = only(report, 'pg-stat-statements-deallocations');

    expect(f.severity).toBe('low');
    expect(f.evidence.deallocations).toBeGreaterThan(0);
    expect(f.evidence.pgStatStatementsMax).toBe(100);
    expect(f.action.config).toEqual({ field: 'database.parameters.pgStatStatementsMax', value: 200 });
  });
});

describe("parameter-*: pgtune's WAL, checkpoint, I/O and JIT settings", () => {
  const PGTUNE = ['min_wal_size', 'max_wal_size', 'effective_io_concurrency', 'wal_compression', 'jit'];

  afterAll(async () => {
    await client.query('ALTER SYSTEM RESET ALL');
    await client.query('SELECT pg_reload_conf()');
  });

  it('finds the PostgreSQL defaults that pgtune changes, each with its config field', async () => {
    const report = await runAdvisor(client, { checks: [parameters], memoryGiB: 8 });

    const byName = Object.fromEntries(
      report.findings.filter((f) => f.id.startsWith('parameter-')).map((f) => [f.subject, f]),
    );
    for (const name of PGTUNE) expect(byName[name]?.severity).toBe('low');
    expect(byName.min_wal_size.action.config).toEqual({ field: 'database.parameters.minWalSizeMb', value: 1024 });
    expect(byName.max_wal_size.action.config).toEqual({ field: 'database.parameters.maxWalSizeMb', value: 4096 });
    expect(byName.effective_io_concurrency.action.config).toEqual({
      field: 'database.parameters.effectiveIoConcurrency',
      value: 200,
    });
    // this build offers no lz4 or zstd (pg_settings.enumvals), so the built-in pglz
    expect(byName.wal_compression.action.config).toEqual({ field: 'database.parameters.walCompression', value: 'on' });
    expect(byName.jit.action.config).toEqual({ field: 'database.parameters.jit', value: 'off' });
    // already at pgtune's 0.9 (the PostgreSQL default since 14)
    expect(byName.checkpoint_completion_target).toBeUndefined();
  });

  it('is silent once they are set as recommended (compliant)', async () => {
    for (const sql of [
      "ALTER SYSTEM SET min_wal_size = '1GB'",
      "ALTER SYSTEM SET max_wal_size = '4GB'",
      'ALTER SYSTEM SET checkpoint_completion_target = 0.9',
      'ALTER SYSTEM SET effective_io_concurrency = 200',
      "ALTER SYSTEM SET wal_compression = 'on'",
      'ALTER SYSTEM SET jit = off',
    ])
      await client.query(sql);
    await client.query('SELECT pg_reload_conf()');
    const fresh = await connect(cluster.url);
    try {
      const report = await runAdvisor(fresh, { checks: [parameters], memoryGiB: 8 });

      expectNoFailedChecks(report);
      const names = report.findings.map((f) => f.subject);
      for (const name of [...PGTUNE, 'checkpoint_completion_target']) expect(names).not.toContain(name);
    } finally {
      await fresh.end();
    }
  });
});
