/**
 * The schema version at snapshot time: the highest applied version in the migration history
 * (`crm_meta.schema_migrations`, written by lambda/migrate/runner.ts). Read over the one pg helper
 * (lambda/shared/db.ts, TLS verified); a failure is the caller's to log, never fatal to a snapshot.
 */
import type { Pool } from 'pg';

export type SchemaVersionLookup = () => Promise<string | undefined>;

export function schemaVersionFromPool(pool: Pick<Pool, 'query'>): SchemaVersionLookup {
  return async () => {
    const { rows } = await pool.query<{ version: number | string | null }>(
      'SELECT max(version) AS version FROM crm_meta.schema_migrations',
    );
    const v = rows[0]?.version;
    return v === null || v === undefined ? undefined : String(v);
  };
}
