import { explainSql, normaliseStatement } from '../../../lambda/advisor/normalise';

describe('normaliseStatement', () => {
  it.each([
    ["SELECT * FROM contacts WHERE email = 'ada@example.com'", 'SELECT * FROM contacts WHERE email = ?'],
    ["SELECT 'it''s' AS x", 'SELECT ? AS x'],
    ["SELECT E'line\\'s end' AS x", 'SELECT ? AS x'],
    ['SELECT $body$secret text$body$, $$more$$', 'SELECT ?, ?'],
    ['SELECT 42, 3.14, .5, 1e10, 0x1F FROM t1', 'SELECT ?, ?, ?, ?, ? FROM t1'],
    ['SELECT id FROM deals WHERE id = $1 LIMIT $2', 'SELECT id FROM deals WHERE id = $1 LIMIT $2'],
    [
      'SELECT a -- the phone 555-0100\nFROM t /* 07700 900123 /* nested */ */ WHERE b = 1',
      'SELECT a FROM t WHERE b = ?',
    ],
    ['SELECT "Customer 1"."e-mail" FROM "Customer 1"', 'SELECT "Customer 1"."e-mail" FROM "Customer 1"'],
    ['SELECT * FROM t WHERE id IN (1, 2, 3, 4)', 'SELECT * FROM t WHERE id IN (?, …)'],
    ["ALTER ROLE crm_app PASSWORD 'hunter2'", 'ALTER ROLE crm_app PASSWORD ?'],
  ])('removes the literals of %j', (input, expected) => {
    expect(normaliseStatement(input, 200)).toBe(expected);
  });

  it('drops the rest of a statement cut inside a string literal (track_activity_query_size)', () => {
    expect(normaliseStatement("UPDATE contacts SET notes = 'called about the overdue invo", 200)).toBe(
      'UPDATE contacts SET notes = ?',
    );
  });

  it('truncates to the given length with an ellipsis', () => {
    const out = normaliseStatement(`SELECT ${'column_name, '.repeat(20)}1 FROM t`, 30);
    expect(out).toHaveLength(30);
    expect(out.endsWith('…')).toBe(true);
  });
});

describe('explainSql', () => {
  it('wraps a pg_stat_statements DML entry in EXPLAIN (GENERIC_PLAN)', () => {
    expect(explainSql('SELECT id FROM crm.deals WHERE owner_id = $1 AND amount > 10.5::numeric(10,2);')).toBe(
      'EXPLAIN (GENERIC_PLAN) SELECT id FROM crm.deals WHERE owner_id = $1 AND amount > 10.5::numeric(10,2);',
    );
  });

  it('replaces a leftover string literal with NULL so the SQL still parses', () => {
    expect(explainSql("SELECT 1 FROM t WHERE a = 'x'")).toBe('EXPLAIN (GENERIC_PLAN) SELECT 1 FROM t WHERE a = NULL;');
  });

  it('has nothing for statements EXPLAIN cannot take', () => {
    expect(explainSql('VACUUM ANALYZE crm.deals')).toBeUndefined();
    expect(explainSql('CREATE INDEX ON t (a)')).toBeUndefined();
  });
});

describe('normaliseStatement reads SQL with the project lexer', () => {
  it('removes a literal after a quoted identifier with a doubled quote', () => {
    expect(normaliseStatement(`SELECT "a""b" FROM t WHERE email = 'ann@example.com'`, 200)).toBe(
      'SELECT "a""b" FROM t WHERE email = ?',
    );
  });

  it('follows standard_conforming_strings as the session that sent the text did (the old lexer kept the secret)', () => {
    const text = String.raw`SELECT 'C:\' AS dir, 'secret' AS pw`;

    expect(normaliseStatement(text, 200)).toBe('SELECT ? AS dir, ? AS pw');
    expect(
      normaliseStatement(String.raw`SELECT 'it\'s' AS a, 'secret' AS pw`, 200, { standardConformingStrings: false }),
    ).toBe('SELECT ? AS a, ? AS pw');
  });
});
