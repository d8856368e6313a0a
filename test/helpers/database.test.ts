import { createTestDatabase } from './database';

describe('test database helper', () => {
  it('creates an isolated PostgreSQL 18 database with pg_stat_statements preloaded', async () => {
    const db = await createTestDatabase();
    try {
      const { rows } = await db.pool.query<{ v: string; lib: string }>(
        "SELECT current_setting('server_version_num') AS v, current_setting('shared_preload_libraries') AS lib",
      );
      expect(Number(rows[0].v)).toBeGreaterThanOrEqual(180000);
      expect(rows[0].lib).toContain('pg_stat_statements');
    } finally {
      await db.drop();
    }
  });
});
