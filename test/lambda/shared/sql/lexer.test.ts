import fc from 'fast-check';
import { tokenize } from '../../../../lambda/shared/sql/lexer';

const kinds = (sql: string, scs = true) =>
  tokenize(sql, { standardConformingStrings: scs })
    .filter((t) => t.kind !== 'space')
    .map((t) => `${t.kind}:${t.text}`);

describe('tokenize', () => {
  it('gives the input back, token by token, for any input', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('a', 'E', 'U', '&', ' ', '\n', "'", '"', '$', '1', '-', '/', '*', ';', '(', ')', '\\'),
        }),
        fc.boolean(),
        (sql, scs) => {
          const tokens = tokenize(sql, { standardConformingStrings: scs });
          expect(tokens.map((t) => t.text).join('')).toBe(sql);
          expect(tokens.map((t) => t.start)).toEqual(tokens.map((_, i) => (i === 0 ? 0 : tokens[i - 1].end)));
        },
      ),
    );
  });

  it('reads strings as PostgreSQL does with standard_conforming_strings on and off', () => {
    expect(kinds(String.raw`'a\' , 'b'`)).toEqual([String.raw`string:'a\'`, 'other:,', "string:'b'"]);
    expect(kinds(String.raw`'a\' , 'c'`, false)).toEqual([String.raw`string:'a\' , '`, 'word:c', "string:'"]);
    expect(kinds(String.raw`E'a\'b' x`)).toEqual([String.raw`string:E'a\'b'`, 'word:x']);
    expect(kinds("'it''s' U&'d\\0061t' b'101' X'1F' N'n'")).toEqual([
      "string:'it''s'",
      "string:U&'d\\0061t'",
      "string:b'101'",
      "string:X'1F'",
      "string:N'n'",
    ]);
  });

  it('tells words, quoted identifiers, dollar quotes, parameters and numbers apart', () => {
    expect(kinds('SELECT "end", $1, $q$ ; $q$, 1.5e3, .5, 0x1F, a$b FROM t')).toEqual([
      'word:SELECT',
      'quoted-ident:"end"',
      'other:,',
      'param:$1',
      'other:,',
      'dollar:$q$ ; $q$',
      'other:,',
      'number:1.5e3',
      'other:,',
      'number:.5',
      'other:,',
      'number:0x1F',
      'other:,',
      'word:a$b',
      'word:FROM',
      'word:t',
    ]);
  });

  it('runs unterminated comments and literals to the end of a truncated text', () => {
    expect(kinds("SELECT 'abc")).toEqual(['word:SELECT', "string:'abc"]);
    expect(kinds('SELECT /* a /* b */ c')).toEqual(['word:SELECT', 'comment:/* a /* b */ c']);
    expect(kinds('SELECT $x$ body')).toEqual(['word:SELECT', 'dollar:$x$ body']);
  });
});
