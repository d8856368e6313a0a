/**
 * What "the restored database works with this version of the application" means, checked on a
 * connected client:
 *
 * 1. schema: `crm_meta.schema_migrations` matches the migrations bundled with this version —
 *    compared by the migration runner's own `verifyAgainstHistory` (extra / renamed / altered /
 *    out-of-order applied migrations fail naming the file), plus pending ones (missing);
 * 2. rows per CRM table (schema `crm`), exact counts;
 * 3. sanity queries: every foreign key in schema `crm` holds (generated from the catalog), every
 *    deal's stage exists in its pipeline, no contact without an existing owner or company, one
 *    default pipeline, and the database accepts writes (not a replica, not read-only).
 */
import type { QueryResultRow } from 'pg';
import { escapeIdentifier } from 'pg';
import type { Migration } from '../migrate/migrations';
import { verifyAgainstHistory } from '../migrate/runner';
import { errorMessage } from '../shared/errors';

export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SchemaResult extends CheckResult {
  /** Highest bundled migration version. */
  readonly bundledVersion: number;
  /** Highest applied migration version in the restored database (0 when there is no history). */
  readonly appliedVersion: number;
}

export interface DatabaseReport {
  readonly ok: boolean;
  readonly schema: SchemaResult;
  readonly tables: readonly { readonly table: string; readonly rows: number }[];
  readonly checks: readonly CheckResult[];
}

export const CRM_SCHEMA = 'crm';

interface SanityQuery {
  readonly name: string;
  /** Returns one row with a numeric `n`. */
  readonly sql: string;
  readonly expect: (n: number) => boolean;
  readonly describe: (n: number) => string;
}

const zero = (what: string) => ({
  expect: (n: number) => n === 0,
  describe: (n: number) => (n === 0 ? `no ${what}` : `${n} ${what}`),
});

/** Domain checks of the CRM schema (lambda/migrate/migrations/0002_crm_tables.sql). */
export const SANITY_QUERIES: readonly SanityQuery[] = [
  {
    name: 'deals reference an existing stage of their pipeline',
    sql: `SELECT count(*)::int AS n FROM crm.deals d
          WHERE NOT EXISTS (SELECT 1 FROM crm.pipeline_stages s WHERE s.id = d.stage_id AND s.pipeline_id = d.pipeline_id)`,
    ...zero('deals without their stage'),
  },
  {
    name: 'no orphan contacts',
    sql: `SELECT count(*)::int AS n FROM crm.contacts c
          WHERE NOT EXISTS (SELECT 1 FROM crm.users u WHERE u.id = c.owner_id)
             OR (c.company_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM crm.companies co WHERE co.id = c.company_id))`,
    ...zero('contacts with a missing owner or company'),
  },
  {
    name: 'exactly one default pipeline',
    sql: 'SELECT count(*)::int AS n FROM crm.pipelines WHERE is_default AND deleted_at IS NULL',
    expect: (n) => n === 1,
    describe: (n) => `${n} default pipeline(s)`,
  },
  {
    name: 'the database accepts writes',
    sql: `SELECT (pg_is_in_recovery() OR current_setting('default_transaction_read_only') = 'on')::int AS n`,
    expect: (n) => n === 0,
    describe: (n) => (n === 0 ? 'read-write primary' : 'read-only or in recovery'),
  },
];

export async function checkSchema(db: Queryable, bundled: readonly Migration[]): Promise<SchemaResult> {
  const bundledVersion = Math.max(0, ...bundled.map((m) => m.version));
  const name = 'migration history matches this version';
  const { rows: exists } = await db.query<{ ok: boolean }>(
    "SELECT to_regclass('crm_meta.schema_migrations') IS NOT NULL AS ok",
  );
  if (!exists[0]?.ok) {
    return {
      name,
      ok: false,
      bundledVersion,
      appliedVersion: 0,
      detail: 'crm_meta.schema_migrations does not exist: no migration was ever applied',
    };
  }
  const { rows: history } = await db.query<{ version: number; name: string; checksum: string }>(
    'SELECT version, name, checksum FROM crm_meta.schema_migrations ORDER BY version',
  );
  const appliedVersion = Math.max(0, ...history.map((h) => h.version));
  let pending: Migration[];
  try {
    pending = verifyAgainstHistory(bundled, history);
  } catch (err) {
    return { name, ok: false, bundledVersion, appliedVersion, detail: errorMessage(err) };
  }
  if (pending.length > 0) {
    return {
      name,
      ok: false,
      bundledVersion,
      appliedVersion,
      detail: `missing ${pending.map((m) => m.file).join(', ')}: not applied in the restored database (it is at version ${appliedVersion}, this release at ${bundledVersion}); run the migrations against it before cutover`,
    };
  }
  return {
    name,
    ok: true,
    bundledVersion,
    appliedVersion,
    detail: `all ${bundled.length} migrations applied, checksums match (version ${appliedVersion})`,
  };
}

export async function countRows(db: Queryable): Promise<{ table: string; rows: number }[]> {
  const { rows: tables } = await db.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
    [CRM_SCHEMA],
  );
  const out: { table: string; rows: number }[] = [];
  for (const { relname } of tables) {
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${escapeIdentifier(CRM_SCHEMA)}.${escapeIdentifier(relname)}`,
    );
    out.push({ table: `${CRM_SCHEMA}.${relname}`, rows: Number(rows[0]!.n) });
  }
  return out;
}

/** One orphan-row query per foreign key of schema `crm` (MATCH SIMPLE: rows with a NULL key column are skipped). */
export async function foreignKeyChecks(db: Queryable): Promise<CheckResult[]> {
  const { rows: fks } = await db.query<{
    conname: string;
    child: string;
    parent: string;
    child_cols: string[];
    parent_cols: string[];
  }>(
    `SELECT con.conname,
            format('%I.%I', cn.nspname, cc.relname) AS child,
            format('%I.%I', pn.nspname, pc.relname) AS parent,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)
                  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i) AS child_cols,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, i)
                  JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.i) AS parent_cols
     FROM pg_constraint con
     JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
     JOIN pg_class pc ON pc.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
     WHERE con.contype = 'f' AND cn.nspname = $1
     ORDER BY cc.relname, con.conname`,
    [CRM_SCHEMA],
  );
  const results: CheckResult[] = [];
  for (const fk of fks) {
    const notNull = fk.child_cols.map((c) => `c.${escapeIdentifier(c)} IS NOT NULL`).join(' AND ');
    const match = fk.child_cols
      .map((c, i) => `p.${escapeIdentifier(fk.parent_cols[i]!)} = c.${escapeIdentifier(c)}`)
      .join(' AND ');
    // child/parent come from format('%I.%I') above, so they are quoted identifiers already.
    const sql = `SELECT count(*)::int AS n FROM ${fk.child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${fk.parent} p WHERE ${match})`;
    results.push(
      await runCheck(
        db,
        `foreign key ${fk.conname} holds`,
        sql,
        zero(`rows of ${fk.child} without their ${fk.parent} row`),
      ),
    );
  }
  return results;
}

async function runCheck(
  db: Queryable,
  name: string,
  sql: string,
  q: Pick<SanityQuery, 'expect' | 'describe'>,
): Promise<CheckResult> {
  try {
    const { rows } = await db.query<{ n: number }>(sql);
    const n = Number(rows[0]?.n);
    return { name, ok: q.expect(n), detail: q.describe(n) };
  } catch (err) {
    return { name, ok: false, detail: `query failed: ${errorMessage(err)}` };
  }
}

export async function checkDatabase(db: Queryable, bundled: readonly Migration[]): Promise<DatabaseReport> {
  const schema = await checkSchema(db, bundled);
  const tables = await countRows(db);
  const checks = [...(await foreignKeyChecks(db))];
  for (const q of SANITY_QUERIES) checks.push(await runCheck(db, q.name, q.sql, q));
  return { ok: schema.ok && checks.every((c) => c.ok), schema, tables, checks };
}
