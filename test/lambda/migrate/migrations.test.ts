import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrationFileError } from '../../../lambda/migrate/errors';
import { checksumOf, loadMigrations, MIGRATIONS_DIR, parseMigration } from '../../../lambda/migrate/migrations';
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

describe('checksums', () => {
  it('are the same for CRLF and LF line endings, and the file parses the same', () => {
    const lf = '-- crm:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n';
    const crlf = Buffer.from(lf.replace(/\n/g, '\r\n'));

    const a = parseMigration('0002_x.sql', Buffer.from(lf));
    const b = parseMigration('0002_x.sql', crlf);

    expect(b.checksum).toBe(a.checksum);
    expect(b.sql).toBe(a.sql);
    expect(b.noTransaction).toBe(true);
  });

  it('of LF-only files are still the sha256 of their bytes (what existing histories recorded)', () => {
    // Pinned: these are the checksums databases recorded for the released migrations.
    expect(Object.fromEntries(loadMigrations(MIGRATIONS_DIR).map((m) => [m.file, m.checksum]))).toMatchObject({
      '0001_roles_and_schema.sql': '825cad5293ec2de983f8098ef9a71e0c64858e7e01c50eaac89410fbe44c5bd6',
      '0002_crm_tables.sql': '3b45e9d07bab711d9d38957322485fc1041125f02797a76806d70f4996883f8f',
      '0003_default_sales_pipeline.sql': '63fc1163428def9bf4aa987d259fcecceda840280b58d23578b81940ff8cc7d4',
      '0004_api_list_indexes.sql': '7c86ccd3f7dd994a50370312be5ed405cf3b25c2a993f86c710c18d802406217',
      '0005_monitoring_privileges.sql': '51697e001b342c6d66d85ca77584a8182b7bf093c803e3ed2a738b95493cf2dc',
      '0006_search_statistics.sql': '573d402a639f4ae05457b4effa7350da9263311c41180f1ef0221b86e07ecf6b',
    });
    for (const m of loadMigrations(MIGRATIONS_DIR)) {
      const bytes = readFileSync(join(MIGRATIONS_DIR, m.file));
      expect(bytes.includes('\r')).toBe(false);
      expect(m.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });

  it('does not change bytes that are not UTF-8', () => {
    const bytes = Buffer.from([0x53, 0x45, 0x4c, 0x45, 0x43, 0x54, 0x20, 0x31, 0x3b, 0x2d, 0x2d, 0xff, 0x0a]);

    expect(checksumOf(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('are kept LF by git (.gitattributes)', () => {
    const attributes = readFileSync(join(__dirname, '../../../.gitattributes'), 'utf8');

    expect(attributes).toMatch(/^\*\.sql\s+text\s+eol=lf$/m);
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

  it.each([
    ['\\connect', 'CREATE TABLE t (a int);\n\\connect other\nCREATE TABLE u (a int);\n', 2],
    ['\\i', '-- include\n\n  \\i more.sql\n', 3],
    ['\\gset', 'SELECT 1 AS one \\gset\nSELECT 2;\n', 1],
    ['\\set', '\\set ON_ERROR_STOP on\nSELECT 1;\n', 1],
  ])('refuses the psql meta-command %s, naming file and line', (command, sql, line) => {
    expect(() => parseMigration('0002_x.sql', sql)).toThrow(
      `0002_x.sql: line ${line}: psql meta-command '${command}' cannot run`,
    );
  });

  it('refuses COPY ... FROM STDIN, naming file and line', () => {
    const sql = 'CREATE TABLE t (a int, b text);\nCOPY t (a, b)\n  FROM stdin;\n1\tone\n2\ttwo\n\\.\n';

    expect(() => parseMigration('0002_x.sql', sql)).toThrow(/^0002_x\.sql: line 2: COPY \.\.\. FROM STDIN cannot run/);
  });

  it('accepts backslashes in literals, comments, function bodies and quoted identifiers', () => {
    const sql =
      "-- \\connect in a comment\nSELECT E'a\\\\b', 'c\\d', $$\\e$$ AS \"f\\g\";\n" +
      "/* \\i x */ CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT '\\x' $body$;\n";

    expect(parseMigration('0002_x.sql', sql).version).toBe(2);
  });
});
