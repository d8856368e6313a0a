import fc from 'fast-check';
import { excerpt, maskSql, splitStatements } from '../../../lambda/migrate/sql-text';

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
