/**
 * Every lint rule, with a statement it must flag and the safe pattern docs/migrations.md gives
 * instead (which it must accept). Both are run on a real PostgreSQL 18 against a small schema, so
 * the rules match SQL PostgreSQL really takes, and the safe patterns really work.
 */
import type { PoolClient } from 'pg';
import { LINT_RULES, type LintRule, lintMigration } from '../../../lambda/migrate/lint';
import { splitStatements } from '../../../lambda/shared/sql/statements';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';

const NO_TX = '-- crm:no-transaction\n';

const FIXTURE = `
DROP SCHEMA IF EXISTS crm CASCADE;
DROP SCHEMA IF EXISTS crm_old CASCADE;
DROP SCHEMA IF EXISTS other CASCADE;
CREATE SCHEMA crm;
CREATE SCHEMA crm_old;
CREATE SCHEMA other;
CREATE TABLE crm.owners (id int PRIMARY KEY);
CREATE TABLE crm.deals (id int PRIMARY KEY, name text, amount int, owner_id int, CONSTRAINT deals_amount_known CHECK (amount IS NOT NULL) NOT VALID);
INSERT INTO crm.owners SELECT g FROM generate_series(1, 3) g;
INSERT INTO crm.deals SELECT g, 'deal ' || g, g * 100, 1 + g % 3 FROM generate_series(1, 50) g;
CREATE INDEX deals_name_idx ON crm.deals (name);
`;

interface Case {
  readonly rule: LintRule;
  /** SQL the rule must flag (a migration file's content). */
  readonly flagged: readonly string[];
  /** The safe pattern (none where the advice is "do not do it in a migration"). */
  readonly safe?: readonly string[];
  /** The flagged SQL cannot run as written at all (PostgreSQL refuses it): the error expected. */
  readonly refusedWith?: RegExp;
}

const CASES: readonly Case[] = [
  { rule: 'drop-table', flagged: ['DROP TABLE crm.owners CASCADE;'] },
  { rule: 'drop-schema', flagged: ['DROP SCHEMA crm_old;'] },
  {
    rule: 'drop-column',
    flagged: ['ALTER TABLE crm.deals DROP COLUMN amount;'],
    safe: ['ALTER TABLE crm.deals DROP CONSTRAINT deals_amount_known;'],
  },
  {
    rule: 'alter-column-type',
    flagged: ['ALTER TABLE crm.deals ALTER COLUMN amount TYPE bigint;'],
    safe: ['ALTER TABLE crm.deals ADD COLUMN amount_big bigint;'],
  },
  {
    rule: 'set-not-null',
    flagged: ['ALTER TABLE crm.deals ALTER COLUMN amount SET NOT NULL;'],
    // The check was added NOT VALID (fixture) and validated in an earlier migration.
    safe: ['ALTER TABLE crm.deals VALIDATE CONSTRAINT deals_amount_known;'],
  },
  {
    rule: 'volatile-default',
    flagged: [
      'ALTER TABLE crm.deals ADD COLUMN token uuid DEFAULT gen_random_uuid();',
      'ALTER TABLE crm.deals ADD COLUMN seen timestamptz NOT NULL DEFAULT clock_timestamp();',
      'ALTER TABLE crm.deals ADD COLUMN seq bigserial;',
      'ALTER TABLE crm.deals ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;',
      'ALTER TABLE crm.deals ADD COLUMN k uuid DEFAULT uuidv7();',
    ],
    safe: [
      'ALTER TABLE crm.deals ADD COLUMN token uuid;\nALTER TABLE crm.deals ALTER COLUMN token SET DEFAULT gen_random_uuid();',
      "ALTER TABLE crm.deals ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(), ADD COLUMN stage text NOT NULL DEFAULT 'lead';",
    ],
  },
  {
    rule: 'stored-generated-column',
    flagged: ['ALTER TABLE crm.deals ADD COLUMN name_key text GENERATED ALWAYS AS (lower(name)) STORED;'],
    safe: ['ALTER TABLE crm.deals ADD COLUMN name_key text GENERATED ALWAYS AS (lower(name)) VIRTUAL;'],
  },
  {
    rule: 'constraint-not-valid',
    flagged: [
      'ALTER TABLE crm.deals ADD CONSTRAINT deals_amount_positive CHECK (amount > 0);',
      'ALTER TABLE crm.deals ADD CONSTRAINT deals_owner_fk FOREIGN KEY (owner_id) REFERENCES crm.owners (id);',
      'ALTER TABLE crm.deals ADD COLUMN backup_owner_id int REFERENCES crm.owners (id);',
      'ALTER TABLE crm.deals ADD COLUMN priority int CHECK (priority BETWEEN 1 AND 5);',
    ],
    safe: [
      'ALTER TABLE crm.deals ADD CONSTRAINT deals_amount_positive CHECK (amount > 0) NOT VALID;',
      'ALTER TABLE crm.deals ADD CONSTRAINT deals_owner_fk FOREIGN KEY (owner_id) REFERENCES crm.owners (id) NOT VALID;',
    ],
  },
  {
    rule: 'validate-same-transaction',
    flagged: [
      'ALTER TABLE crm.deals ADD CONSTRAINT deals_amount_positive CHECK (amount > 0) NOT VALID;\nALTER TABLE crm.deals VALIDATE CONSTRAINT deals_amount_positive;',
    ],
    safe: ['ALTER TABLE crm.deals VALIDATE CONSTRAINT deals_amount_known;'],
  },
  {
    rule: 'add-unique-constraint',
    flagged: [
      'ALTER TABLE crm.deals ADD CONSTRAINT deals_name_key UNIQUE (name);',
      'ALTER TABLE crm.owners ADD COLUMN code text UNIQUE;',
      'ALTER TABLE crm.deals ADD CONSTRAINT deals_name_excl EXCLUDE USING btree (name WITH =);',
    ],
    safe: [
      `${NO_TX}CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS deals_name_key ON crm.deals (name);\nALTER TABLE crm.deals ADD CONSTRAINT deals_name_key UNIQUE USING INDEX deals_name_key;`,
    ],
  },
  {
    rule: 'rename',
    flagged: [
      'ALTER TABLE crm.deals RENAME COLUMN name TO title;',
      'ALTER TABLE crm.deals RENAME name TO title;',
      'ALTER TABLE crm.deals RENAME TO opportunities;',
    ],
    safe: ['ALTER TABLE crm.deals RENAME CONSTRAINT deals_amount_known TO deals_amount_present;'],
  },
  {
    rule: 'create-index',
    flagged: ['CREATE INDEX deals_amount_idx ON crm.deals (amount);'],
    safe: [
      `${NO_TX}CREATE INDEX CONCURRENTLY IF NOT EXISTS deals_amount_idx ON crm.deals (amount);`,
      'CREATE TABLE crm.tags (id int, name text);\nCREATE INDEX tags_name_idx ON crm.tags (name);',
    ],
  },
  {
    rule: 'drop-index',
    flagged: ['DROP INDEX crm.deals_name_idx;'],
    safe: [`${NO_TX}DROP INDEX CONCURRENTLY IF EXISTS crm.deals_name_idx;`],
  },
  {
    rule: 'reindex',
    flagged: ['REINDEX INDEX crm.deals_name_idx;', 'REINDEX TABLE crm.deals;'],
    safe: [`${NO_TX}REINDEX INDEX CONCURRENTLY crm.deals_name_idx;`, `${NO_TX}REINDEX (CONCURRENTLY) TABLE crm.deals;`],
  },
  {
    rule: 'concurrently-in-transaction',
    flagged: ['CREATE INDEX CONCURRENTLY deals_amount_idx ON crm.deals (amount);'],
    safe: [`${NO_TX}CREATE INDEX CONCURRENTLY IF NOT EXISTS deals_amount_idx ON crm.deals (amount);`],
    refusedWith: /cannot run inside a transaction block/,
  },
  {
    rule: 'truncate',
    flagged: ['TRUNCATE crm.deals;', 'TRUNCATE TABLE ONLY crm.deals;'],
    safe: [
      'DELETE FROM crm.deals WHERE id IN (SELECT id FROM crm.deals WHERE amount < 500 LIMIT 1000);',
      // The privilege, not the statement.
      'REVOKE TRUNCATE ON crm.deals FROM PUBLIC;',
    ],
  },
  {
    rule: 'vacuum-full',
    flagged: [`${NO_TX}VACUUM FULL crm.deals;`, `${NO_TX}VACUUM (FULL, ANALYZE) crm.deals;`],
    safe: [`${NO_TX}VACUUM (ANALYZE) crm.deals;`, `${NO_TX}VACUUM (FULL false) crm.deals;`],
  },
  { rule: 'cluster', flagged: ['CLUSTER crm.deals USING deals_pkey;'] },
  {
    rule: 'lock-table',
    flagged: [
      'LOCK TABLE crm.deals IN ACCESS EXCLUSIVE MODE;',
      'LOCK crm.deals;',
      'DO $$\nBEGIN\n  IF true THEN\n    LOCK TABLE crm.deals;\n  END IF;\nEND\n$$;',
    ],
  },
];

let db: TestDatabase;
let client: PoolClient;

beforeAll(async () => {
  db = await createTestDatabase('crm_lint');
  client = await db.pool.connect();
});
afterAll(async () => {
  client.release();
  await db.drop();
});

/** Runs a migration's SQL the way the runner does: in one transaction unless crm:no-transaction. */
async function run(sql: string): Promise<void> {
  await client.query(FIXTURE);
  const noTransaction = sql.startsWith(NO_TX);
  if (!noTransaction) await client.query('BEGIN');
  try {
    for (const statement of splitStatements(sql)) await client.query(statement.text);
  } finally {
    if (!noTransaction) await client.query('ROLLBACK');
  }
}

const lint = (sql: string) => lintMigration({ file: '0007_change.sql', sql });

it('covers every rule', () => {
  expect(CASES.map((c) => c.rule).sort()).toEqual(Object.keys(LINT_RULES).sort());
});

describe.each(CASES)('$rule', ({ rule, flagged, safe = [], refusedWith }) => {
  it.each(flagged)('flags %s', async (sql) => {
    expect(lint(sql).map((f) => f.rule)).toContain(rule);
    if (refusedWith) await expect(run(sql)).rejects.toThrow(refusedWith);
    else await run(sql);
  });

  if (safe.length > 0) {
    it.each(safe)('accepts the safe pattern %s', async (sql) => {
      expect(lint(sql)).toEqual([]);
      await run(sql);
    });
  }
});

describe('names', () => {
  it('matches tables by schema-qualified name: a table created in another schema exempts nothing', () => {
    const sql = 'CREATE TABLE other.deals (id int);\nCREATE INDEX deals_amount_idx ON crm.deals (amount);\n';

    expect(lint(sql).map((f) => f.rule)).toEqual(['create-index']);
  });

  it('folds unquoted names and keeps quoted ones', () => {
    expect(
      lint('CREATE TABLE crm."Tags" (id int);\nCREATE INDEX t_idx ON crm."Tags" (id);').map((f) => f.rule),
    ).toEqual([]);
    expect(lint('CREATE TABLE crm."Tags" (id int);\nCREATE INDEX t_idx ON crm.tags (id);').map((f) => f.rule)).toEqual([
      'create-index',
    ]);
    expect(lint('CREATE TABLE CRM.Tags (id int);\nCREATE INDEX t_idx ON crm.tags (id);').map((f) => f.rule)).toEqual(
      [],
    );
  });

  it('refuses an allow directive for a statement that cannot run as written', () => {
    const sql =
      '-- crm:allow concurrently-in-transaction it is small\nCREATE INDEX CONCURRENTLY i ON crm.deals (amount);';

    expect(lint(sql).map((f) => f.rule)).toEqual(['directive', 'concurrently-in-transaction']);
  });
});
