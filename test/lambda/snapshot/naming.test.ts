import { identifierProblem, snapshotName, timestampedInstanceId } from '../../../lambda/snapshot/naming';

describe('snapshotName', () => {
  it.each([
    ['2026-11-28T03:00:00Z', 'crm-prod-20261128-0300'],
    ['2026-11-28T03:00:59.999Z', 'crm-prod-20261128-0300'],
    ['2026-11-28T00:30:00-05:00', 'crm-prod-20261128-0530'],
    ['2026-12-31T23:59:00Z', 'crm-prod-20261231-2359'],
  ])('names the slot %s %s', (iso, name) => {
    expect(snapshotName('crm-prod', new Date(iso))).toBe(name);
  });

  it('lower-cases the prefix as RDS stores identifiers', () => {
    expect(snapshotName('CRM-Prod', new Date('2026-01-02T03:04:00Z'))).toBe('crm-prod-20260102-0304');
  });

  it('refuses an invalid date', () => {
    expect(() => snapshotName('crm', new Date('nope'))).toThrow(RangeError);
  });
});

describe('identifierProblem (RDS naming rules)', () => {
  it.each([
    ['crm-prod-restore', undefined],
    ['', /empty/],
    ['1crm', /start with a letter/],
    ['crm_prod', /letters, digits and hyphens/],
    ['crm-', /end with a hyphen/],
    ['crm--prod', /consecutive hyphens/],
    ['a'.repeat(64), /at most 63/],
  ])('%s → %s', (id, problem) => {
    const got = identifierProblem(id, 63);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(problem);
  });
});

describe('timestampedInstanceId', () => {
  it('fits 63 characters and stays valid for a long base', () => {
    const id = timestampedInstanceId(`${'x'.repeat(48)}-restore`, new Date('2026-11-28T10:00:00Z'));
    expect(id.length).toBeLessThanOrEqual(63);
    expect(identifierProblem(id, 63)).toBeUndefined();
    expect(id.endsWith('-20261128-1000')).toBe(true);
  });
});
