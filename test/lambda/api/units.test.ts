import fc from 'fast-check';
import { parseCognitoGroups, roleFromGroups } from '../../../lambda/api/auth';
import { decodeCursor, encodeCursor } from '../../../lambda/api/cursor';
import { normalizeDomain, normalizeEmail, normalizePhone } from '../../../lambda/api/normalize';
import { toProblem } from '../../../lambda/api/problems';

describe('parseCognitoGroups', () => {
  it.each([
    ['admin', ['admin']],
    ['[admin, sales]', ['admin', 'sales']],
    ['[admin sales]', ['admin', 'sales']],
    ['["manager","readonly"]', ['manager', 'readonly']],
    [['sales'], ['sales']],
    ['', []],
    [undefined, []],
  ])('%j → %j', (raw, groups) => {
    expect(parseCognitoGroups(raw)).toEqual(groups);
  });

  it('takes the highest CRM role and ignores other groups', () => {
    expect(roleFromGroups(['readonly', 'admin', 'other'])).toBe('admin');
    expect(roleFromGroups(['other'])).toBeUndefined();
  });
});

describe('normalisers', () => {
  it.each([
    ['https://www.Example.com/about?x=1', 'example.com'],
    ['EXAMPLE.co.uk.', 'example.co.uk'],
    ['http://user@shop.example.com:8080/', 'shop.example.com'],
    ['bücher.de', 'xn--bcher-kva.de'],
  ])('domain %s → %s', (raw, domain) => expect(normalizeDomain(raw)).toBe(domain));

  it.each(['localhost', '10.0.0.1', 'exa mple.com', '-bad-.com', ''])('refuses domain %j', (raw) => {
    expect(() => normalizeDomain(raw)).toThrow(/domain/);
  });

  it('lower-cases and trims emails', () => expect(normalizeEmail('  Ada@Example.COM ')).toBe('ada@example.com'));
  it.each(['ada', '@x.com', 'a@b', 'a..b@x.com', 'a b@x.com'])('refuses email %j', (raw) => {
    expect(() => normalizeEmail(raw)).toThrow(/email/);
  });

  it.each([
    ['+44 (0)20 7946 0958', '+442079460958'],
    ['0044 20 7946 0958', '+442079460958'],
    ['(415) 555-2671', '+14155552671'],
    ['1-415-555-2671', '+14155552671'],
    ['+49 30 1234567', '+49301234567'],
  ])('phone %s → %s', (raw, e164) => expect(normalizePhone(raw)).toBe(e164));

  it.each(['555-2671', '+0 123 456 789', 'call me', '+1234567890123456'])('refuses phone %j', (raw) => {
    expect(() => normalizePhone(raw)).toThrow(/phone/);
  });
});

describe('cursor', () => {
  it('round-trips any key and refuses anything that is not one of ours', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }).filter((s) => !s.includes('\u0000')),
        fc.uuid(),
        (key, id) => {
          expect(decodeCursor(encodeCursor({ sort: 'name', key, id }), 'name')).toEqual({ sort: 'name', key, id });
        },
      ),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (raw) => {
        try {
          decodeCursor(raw, 'name');
        } catch (err) {
          expect(toProblem(err, 'r').problem.status).toBe(400);
        }
      }),
    );
  });
});

describe('toProblem', () => {
  it('maps pg errors by SQLSTATE and hides unknown errors', () => {
    const pgError = (code: string) =>
      Object.assign(new Error('duplicate key value violates ...'), { code, severity: 'ERROR' });
    expect(toProblem(pgError('23505'), 'r').problem.status).toBe(409);
    expect(toProblem(pgError('23503'), 'r').problem.status).toBe(422);
    expect(toProblem(pgError('57014'), 'r').problem.status).toBe(503);
    // Date values PostgreSQL cannot read (field out of range, offset out of range): the client's mistake.
    expect(toProblem(pgError('22008'), 'r').problem.status).toBe(422);
    expect(toProblem(pgError('22009'), 'r').problem.status).toBe(422);
    const unknown = toProblem(new Error('secret internals'), 'r');
    expect(unknown.problem.status).toBe(500);
    expect(unknown.problem.detail).not.toContain('secret');
    expect(unknown.unexpected).toBe(true);
  });
});
