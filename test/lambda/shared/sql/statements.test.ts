import fc from 'fast-check';
import { excerpt, maskSql, splitStatements } from '../../../../lambda/shared/sql/statements';
import { createTestDatabase, type TestDatabase } from '../../../helpers/database';

const texts = (sql: string) => splitStatements(sql).map((s) => s.text);

describe('splitStatements', () => {
  it('splits at top-level semicolons and drops empty statements', () => {
    expect(texts('SELECT 1;;\n  SELECT 2 ;\n-- trailing comment\n')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('does not split inside strings, quoted identifiers, comments or dollar quotes', () => {
    const sql = [
      "INSERT INTO t VALUES ('a;b', E'c\\';d', 'it''s;');",
      'SELECT 1 AS "semi;colon";',
      '/* one; /* nested; */ still comment; */ SELECT 2;',
      'CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $body$ BEGIN PERFORM 1; END $body$;',
      'DO $$ BEGIN PERFORM 2; END $$;',
    ].join('\n');

    expect(texts(sql)).toHaveLength(5);
  });

  it('keeps a SQL-standard BEGIN ATOMIC body (with CASE ... END) in one statement', () => {
    const sql =
      'CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END; SELECT 2; END;\nSELECT 3;';

    expect(texts(sql)).toEqual([expect.stringMatching(/^CREATE FUNCTION .* END$/), 'SELECT 3']);
  });

  it('reports the 1-based line where each statement starts', () => {
    expect(splitStatements('-- header\n\nSELECT 1;\nSELECT\n  2;').map((s) => s.line)).toEqual([3, 4]);
  });
});

describe('maskSql', () => {
  it('blanks comments and literal contents but keeps code', () => {
    expect(maskSql("SELECT 'x;y' -- c\n, $t$ z $t$")).toBe("SELECT '   '     \n, $t$   $t$");
  });

  it('keeps length and line breaks for any input', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', ' ', '\n', "'", '"', '$', '-', '/', '*', ';', 'E', '\\') }),
        (sql) => {
          const masked = maskSql(sql);
          expect(masked).toHaveLength(sql.length);
          expect([...masked].map((c, i) => (c === '\n') === (sql[i] === '\n')).every(Boolean)).toBe(true);
        },
      ),
    );
  });
});

describe('excerpt', () => {
  it('collapses whitespace and truncates long statements', () => {
    expect(excerpt('SELECT\n   1')).toBe('SELECT 1');
    expect(excerpt('x'.repeat(300), 10)).toBe('xxxxxxxxx…');
  });
});

describe('splitStatements against PostgreSQL', () => {
  // Each script is split, then run statement by statement on a real PostgreSQL 18: if the
  // splitter cut a statement in the wrong place, the server would reject a piece.
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('crm_split');
  });
  afterAll(() => db.drop());

  async function runSplit(sql: string): Promise<string[]> {
    const statements = texts(sql);
    const client = await db.pool.connect();
    try {
      for (const statement of statements) await client.query(statement);
    } finally {
      client.release(true);
    }
    return statements;
  }

  it('keeps a quoted "end" inside BEGIN ATOMIC in its function', async () => {
    const sql = [
      'CREATE TABLE spans (id int, "end" int);',
      'CREATE FUNCTION last_end() RETURNS int LANGUAGE sql',
      'BEGIN ATOMIC',
      '  SELECT max("end") FROM spans;',
      'END;',
      'INSERT INTO spans VALUES (1, 7);',
    ].join('\n');

    expect(await runSplit(sql)).toHaveLength(3);
    const { rows } = await db.pool.query('SELECT last_end() AS e');
    expect(rows[0].e).toBe(7);
  });

  it('keeps the parenthesised actions of CREATE RULE ... DO ALSO (a; b) together', async () => {
    const sql = [
      'CREATE TABLE ruled (id int);',
      'CREATE TABLE ruled_log (id int, n int);',
      'CREATE RULE ruled_log AS ON INSERT TO ruled DO ALSO (',
      '  INSERT INTO ruled_log VALUES (NEW.id, 1);',
      '  INSERT INTO ruled_log VALUES (NEW.id, 2)',
      ');',
      'INSERT INTO ruled VALUES (5);',
    ].join('\n');

    expect(await runSplit(sql)).toHaveLength(4);
    const { rows } = await db.pool.query('SELECT n FROM ruled_log WHERE id = 5 ORDER BY n');
    expect(rows.map((r) => r.n)).toEqual([1, 2]);
  });

  it('follows SET standard_conforming_strings = off in the script', async () => {
    const sql = [
      'CREATE TABLE quotes (q text);',
      'SET standard_conforming_strings = off;',
      String.raw`INSERT INTO quotes VALUES ('it\'s; fine');`,
      'RESET standard_conforming_strings;',
      String.raw`INSERT INTO quotes VALUES ('C:\');`,
    ].join('\n');

    expect(await runSplit(sql)).toHaveLength(5);
    const { rows } = await db.pool.query('SELECT q FROM quotes ORDER BY q');
    expect(rows.map((r) => r.q)).toEqual(['C:\\', "it's; fine"]);
  });
});
