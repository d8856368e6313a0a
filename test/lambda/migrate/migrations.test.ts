import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrationFileError } from '../../../lambda/migrate/errors';
import { loadMigrations, MIGRATIONS_DIR, parseMigration } from '../../../lambda/migrate/migrations';
import { migrationDir } from './fixtures';

describe('loadMigrations', () => {
  it('loads files in version order with name, checksum of the bytes and directives', () => {
    const dir = migrationDir({
      '0002_second_step.sql': '-- crm:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n',
      '0001_first.sql': 'CREATE TABLE t (a int);\n',
      'README.md': 'not a migration',
    });

    const migrations = loadMigrations(dir);

    expect(
      migrations.map(({ version, name, file, noTransaction }) => ({ version, name, file, noTransaction })),
    ).toEqual([
      { version: 1, name: 'first', file: '0001_first.sql', noTransaction: false },
      { version: 2, name: 'second_step', file: '0002_second_step.sql', noTransaction: true },
    ]);
    const bytes = readFileSync(join(dir, '0001_first.sql'));
    expect(migrations[0].checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('loads the real migrations folder', () => {
    const migrations = loadMigrations(MIGRATIONS_DIR);

    expect(migrations.slice(0, 3).map((m) => m.file)).toEqual([
      '0001_roles_and_schema.sql',
      '0002_crm_tables.sql',
      '0003_default_sales_pipeline.sql',
    ]);
  });

  it('refuses a numbering gap, naming the file after it', () => {
    const dir = migrationDir({ '0001_a.sql': 'SELECT 1;', '0003_c.sql': 'SELECT 3;' });

    expect(() => loadMigrations(dir)).toThrow(/^0003_c\.sql: numbering gap: version 0002 is missing/);
  });

  it('refuses numbering that does not start at 0001', () => {
    const dir = migrationDir({ '0002_b.sql': 'SELECT 2;' });

    expect(() => loadMigrations(dir)).toThrow(/^0002_b\.sql: numbering gap: version 0001 is missing/);
  });

  it('refuses a duplicate version, naming both files', () => {
    const dir = migrationDir({ '0001_a.sql': 'SELECT 1;', '0002_b.sql': 'SELECT 2;', '0002_c.sql': 'SELECT 3;' });

    expect(() => loadMigrations(dir)).toThrow(/^0002_c\.sql: duplicate version 0002: 0002_b\.sql has the same number/);
  });

  it.each(['1_a.sql', '0001-a.sql', '0001_CamelCase.sql', '0001_a__b.sql', '0001_.sql', '0000_zero.sql'])(
    'refuses the file name %s',
    (file) => {
      const dir = migrationDir({ [file]: 'SELECT 1;' });

      expect(() => loadMigrations(dir)).toThrow(MigrationFileError);
    },
  );

  it('refuses a missing directory', () => {
    expect(() => loadMigrations('/nonexistent/migrations')).toThrow(/migrations directory not found/);
  });
});

describe('parseMigration', () => {
  it('refuses an unknown directive, so a typo is not silently ignored', () => {
    expect(() => parseMigration('0002_x.sql', '-- crm:no-transactions\nSELECT 1;')).toThrow(
      /0002_x\.sql: line 1: unknown directive 'crm:no-transactions'/,
    );
  });

  it('refuses an empty migration', () => {
    expect(() => parseMigration('0002_x.sql', '-- nothing here\n')).toThrow(/contains no SQL statements/);
  });

  it('refuses transaction control in a transactional migration', () => {
    expect(() => parseMigration('0002_x.sql', 'BEGIN;\nSELECT 1;\nCOMMIT;\n')).toThrow(
      /0002_x\.sql: line 1: transaction control \('BEGIN'\) is not allowed/,
    );
  });

  it('accepts BEGIN ATOMIC function bodies and plpgsql BEGIN blocks', () => {
    const sql =
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n' + 'DO $$ BEGIN PERFORM 1; END $$;\n';

    expect(parseMigration('0002_x.sql', sql).noTransaction).toBe(false);
  });
});
