import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatFindings, LINT_RULES, lintMigration, lintMigrations } from '../../../lambda/migrate/lint';
import { loadMigrations } from '../../../lambda/migrate/migrations';

const lint = (sql: string) => lintMigration({ file: '0005_change.sql', sql });
const rules = (sql: string) => lint(sql).map((f) => f.rule);

describe('the real migrations', () => {
  it('pass the lint', () => {
    const findings = lintMigrations(loadMigrations());

    // The message lists each finding as file:line [rule] so a failure says what to fix.
    expect(formatFindings(findings)).toBe('');
  });
});

describe('lintMigrations', () => {
  it('exempts the first migration, which creates the schema', () => {
    const sql = 'DROP TABLE IF EXISTS crm.legacy;\n';

    const findings = lintMigrations([
      { version: 1, file: '0001_init.sql', sql },
      { version: 2, file: '0002_next.sql', sql },
    ]);

    expect(findings.map((f) => f.file)).toEqual(['0002_next.sql']);
  });
});

describe('drop-table: DROP TABLE', () => {
  it('flags DROP TABLE with its line', () => {
    expect(lint('SELECT 1;\n\nDROP TABLE crm.deals;\n')).toEqual([
      expect.objectContaining({ rule: 'drop-table', line: 3, statement: 'DROP TABLE crm.deals' }),
    ]);
  });

  it('accepts it with an allow directive and a reason', () => {
    expect(rules('-- crm:allow drop-table unused since release 2024.10, see #42\nDROP TABLE crm.legacy;\n')).toEqual(
      [],
    );
  });
});

describe('drop-column: DROP COLUMN', () => {
  it('flags DROP COLUMN and the short form without COLUMN', () => {
    expect(
      rules('ALTER TABLE crm.deals DROP COLUMN legacy;\nALTER TABLE ONLY "crm"."deals" DROP IF EXISTS old;\n'),
    ).toEqual(['drop-column', 'drop-column']);
  });

  it('accepts DROP CONSTRAINT and ALTER COLUMN ... DROP DEFAULT / DROP NOT NULL', () => {
    expect(
      rules(
        'ALTER TABLE crm.deals DROP CONSTRAINT deals_x, ALTER COLUMN name DROP DEFAULT, ALTER COLUMN close_date DROP NOT NULL;\n',
      ),
    ).toEqual([]);
  });

  it('accepts it with an allow directive and a reason', () => {
    expect(
      rules('-- crm:allow drop-column no reader left since 0007\nALTER TABLE crm.deals DROP COLUMN legacy;\n'),
    ).toEqual([]);
  });
});

describe('alter-column-type: ALTER COLUMN ... TYPE', () => {
  it('flags TYPE and SET DATA TYPE, also among other actions', () => {
    expect(
      rules(
        'ALTER TABLE crm.deals ALTER COLUMN name TYPE varchar(300);\nALTER TABLE crm.deals ADD CONSTRAINT c CHECK (a IN (1, 2)) NOT VALID, ALTER amount_minor SET DATA TYPE numeric;\n',
      ),
    ).toEqual(['alter-column-type', 'alter-column-type']);
  });

  it('accepts ALTER TYPE (of an enum type), which is not a column change', () => {
    expect(rules("ALTER TYPE crm.mood ADD VALUE 'meh';\n")).toEqual([]);
  });
});

describe('set-not-null: SET NOT NULL', () => {
  it('flags SET NOT NULL on an existing table', () => {
    expect(rules('ALTER TABLE crm.contacts ALTER COLUMN last_name SET NOT NULL;\n')).toEqual(['set-not-null']);
  });

  it('accepts the safe pattern: a NOT VALID check constraint', () => {
    expect(
      rules('ALTER TABLE crm.contacts ADD CONSTRAINT last_name_nn CHECK (last_name IS NOT NULL) NOT VALID;\n'),
    ).toEqual([]);
  });

  it('accepts SET NOT NULL on a table created in the same migration', () => {
    expect(
      rules('CREATE TABLE crm.tags (id uuid, label text);\nALTER TABLE crm.tags ALTER label SET NOT NULL;\n'),
    ).toEqual([]);
  });
});

describe('create-index: CREATE INDEX on an existing table', () => {
  it('flags a non-concurrent index, named or not, unique or not', () => {
    expect(
      rules(
        'CREATE INDEX deals_x_idx ON crm.deals (name);\nCREATE UNIQUE INDEX IF NOT EXISTS ON ONLY crm.deals (id, name);\n',
      ),
    ).toEqual(['create-index', 'create-index']);
  });

  it('accepts CREATE INDEX CONCURRENTLY', () => {
    expect(
      rules('-- crm:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS deals_x_idx ON crm.deals (name);\n'),
    ).toEqual([]);
  });

  it('accepts an index on a table created in the same migration', () => {
    expect(
      rules('CREATE TABLE IF NOT EXISTS "crm".tags (id uuid);\nCREATE INDEX tags_id_idx ON crm.tags (id);\n'),
    ).toEqual([]);
  });
});

describe('truncate: TRUNCATE', () => {
  it('flags TRUNCATE, also inside a DO block', () => {
    expect(
      lint(
        'TRUNCATE crm.audit_log;\nDO $body$\nBEGIN\n  IF true THEN\n    TRUNCATE crm.deals;\n  END IF;\nEND\n$body$;\n',
      ),
    ).toEqual([
      expect.objectContaining({ rule: 'truncate', line: 1 }),
      expect.objectContaining({ rule: 'truncate', line: 5 }),
    ]);
  });

  it('accepts DELETE', () => {
    expect(rules('DELETE FROM crm.idempotency_keys WHERE expires_at < now();\n')).toEqual([]);
  });
});

describe('masking', () => {
  it('ignores risky SQL in comments and string literals', () => {
    const sql = [
      '-- DROP TABLE crm.deals;',
      '/* TRUNCATE crm.deals; /* nested */ ALTER TABLE crm.deals DROP COLUMN x; */',
      "INSERT INTO crm.audit_log (actor, action, entity, diff) VALUES ('me', 'note', 'deal', '{\"sql\": \"DROP TABLE x\"}');",
      "COMMENT ON TABLE crm.deals IS E'never TRUNCATE \\' this';",
      'CREATE FUNCTION crm.f() RETURNS void LANGUAGE plpgsql AS $fn$ BEGIN TRUNCATE crm.deals; END $fn$;',
    ].join('\n');

    expect(rules(sql)).toEqual([]);
  });
});

describe('allow directives', () => {
  it('require a reason', () => {
    expect(lint('-- crm:allow truncate\nTRUNCATE crm.deals;\n')).toEqual([
      expect.objectContaining({ rule: 'directive', line: 1, message: expect.stringMatching(/needs a reason/) }),
      expect.objectContaining({ rule: 'truncate', line: 2 }),
    ]);
  });

  it('must name a known rule', () => {
    expect(lint('-- crm:allow drop-everything because\nSELECT 1;\n')).toEqual([
      expect.objectContaining({ rule: 'directive', message: expect.stringMatching(/unknown rule 'drop-everything'/) }),
    ]);
  });

  it('only allow the rule they name', () => {
    expect(
      rules('-- crm:allow truncate reset of a cache table\nTRUNCATE crm.cache;\nDROP TABLE crm.cache_old;\n'),
    ).toEqual(['drop-table']);
  });
});

describe('LINT_RULES', () => {
  it('documents every rule, and only those, in docs/migrations.md', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/migrations.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);

    expect(documented.sort()).toEqual(Object.keys(LINT_RULES).sort());
  });
});
