import type { DBSnapshot } from '@aws-sdk/client-rds';
import fc from 'fast-check';
import { planRetention, type RetentionPolicy } from '../../../lambda/snapshot/retention';
import { dbSnapshot, managedTags, PREFIX } from './fixtures';

const NOW = new Date('2026-11-28T03:00:00Z');
const DAY = 86_400_000;

interface Spec {
  dated: boolean;
  managed: boolean;
  prefixed: boolean;
  type: 'manual' | 'automated' | 'shared' | 'public';
  status: 'available' | 'creating' | 'deleting' | 'failed' | 'copying';
}

/** Mostly `yes`, so most generated snapshots are deletion candidates and the exceptions stand out. */
const mostly = <T>(usual: T, ...others: T[]) =>
  fc.oneof({ arbitrary: fc.constant(usual), weight: 3 }, { arbitrary: fc.constantFrom(...others), weight: 1 });

const specArb: fc.Arbitrary<Spec> = fc.record({
  dated: mostly(true, false),
  managed: mostly(true, false),
  prefixed: mostly(true, false),
  type: mostly<Spec['type']>('manual', 'automated', 'shared', 'public'),
  status: mostly<Spec['status']>('available', 'creating', 'deleting', 'failed', 'copying'),
});

// Distinct create times keep "newest" unambiguous; ties are covered by an example test below.
const snapshotsArb = fc.uniqueArray(fc.integer({ min: 0, max: 90 * 24 * 60 }), { maxLength: 40 }).chain((minutesAgo) =>
  fc.array(specArb, { minLength: minutesAgo.length, maxLength: minutesAgo.length }).map((specs) =>
    specs.map((s, i) =>
      dbSnapshot({
        DBSnapshotIdentifier: s.prefixed ? `${PREFIX}-snap-${i}` : `other-snap-${i}`,
        SnapshotCreateTime: s.dated ? new Date(NOW.getTime() - minutesAgo[i]! * 60_000) : undefined,
        TagList: s.managed ? managedTags() : [{ Key: 'team', Value: 'crm' }],
        SnapshotType: s.type,
        Status: s.status,
      }),
    ),
  ),
);

const policyArb: fc.Arbitrary<RetentionPolicy> = fc.record({
  retentionDays: fc.integer({ min: 1, max: 60 }),
  minKeep: fc.integer({ min: 0, max: 10 }),
  prefix: fc.constant(PREFIX),
});

const isCandidate = (s: DBSnapshot) =>
  s.TagList?.some((t) => t.Key === 'managed-by' && t.Value === 'crm-platform') === true &&
  s.DBSnapshotIdentifier!.startsWith(`${PREFIX}-`) &&
  s.SnapshotType === 'manual' &&
  s.Status === 'available' &&
  s.SnapshotCreateTime !== undefined;

const expired = (s: DBSnapshot, p: RetentionPolicy) =>
  s.SnapshotCreateTime!.getTime() < NOW.getTime() - p.retentionDays * DAY;

describe('planRetention (properties)', () => {
  it('never deletes an unmanaged, automated, shared, not-available or undated snapshot', () => {
    fc.assert(
      fc.property(snapshotsArb, policyArb, (snaps, policy) => {
        const { toDelete } = planRetention(snaps, policy, NOW);
        for (const s of toDelete) expect(isCandidate(s)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never deletes the newest snapshot', () => {
    fc.assert(
      fc.property(snapshotsArb, policyArb, (snaps, policy) => {
        const dated = snaps.filter((s) => s.SnapshotCreateTime);
        fc.pre(dated.length > 0);
        const newest = dated.reduce((a, b) => (a.SnapshotCreateTime! > b.SnapshotCreateTime! ? a : b));
        expect(planRetention(snaps, policy, NOW).toDelete).not.toContain(newest);
      }),
    );
  });

  it('never leaves fewer than minKeep available managed snapshots', () => {
    fc.assert(
      fc.property(snapshotsArb, policyArb, (snaps, policy) => {
        const { toDelete } = planRetention(snaps, policy, NOW);
        const before = snaps.filter(isCandidate).length;
        expect(before - toDelete.length).toBeGreaterThanOrEqual(Math.min(policy.minKeep, before));
      }),
    );
  });

  it('deletes exactly the expired managed snapshots beyond the max(minKeep, 1) newest', () => {
    fc.assert(
      fc.property(snapshotsArb, policyArb, (snaps, policy) => {
        const candidates = snaps.filter(isCandidate);
        const newerCount = (s: DBSnapshot) =>
          candidates.filter((c) => c.SnapshotCreateTime! > s.SnapshotCreateTime!).length;
        const expected = candidates.filter((s) => expired(s, policy) && newerCount(s) >= Math.max(policy.minKeep, 1));

        const { toDelete } = planRetention(snaps, policy, NOW);
        expect(new Set(toDelete)).toEqual(new Set(expected));
        expect(toDelete).toHaveLength(expected.length);
      }),
    );
  });

  it('explains every decision and orders deletions oldest first', () => {
    fc.assert(
      fc.property(snapshotsArb, policyArb, (snaps, policy) => {
        const { toDelete, decisions } = planRetention(snaps, policy, NOW);
        expect(decisions).toHaveLength(snaps.length);
        expect(
          decisions
            .filter((d) => d.action === 'delete')
            .map((d) => d.snapshotId)
            .sort(),
        ).toEqual(toDelete.map((s) => s.DBSnapshotIdentifier).sort());
        const times = toDelete.map((s) => s.SnapshotCreateTime!.getTime());
        expect(times).toEqual([...times].sort((a, b) => a - b));
      }),
    );
  });
});

describe('planRetention (examples)', () => {
  const at = (days: number, id: string) =>
    dbSnapshot({ DBSnapshotIdentifier: `${PREFIX}-${id}`, SnapshotCreateTime: new Date(NOW.getTime() - days * DAY) });

  it('keeps the newest snapshot even with minKeep 0 when everything is expired', () => {
    const snaps = [at(30, 'a'), at(20, 'b'), at(10, 'c')];
    const { toDelete } = planRetention(snaps, { retentionDays: 7, minKeep: 0 }, NOW);
    expect(toDelete.map((s) => s.DBSnapshotIdentifier)).toEqual([`${PREFIX}-a`, `${PREFIX}-b`]);
  });

  it('breaks create-time ties by identifier, so the plan does not depend on input order', () => {
    const snaps = [at(10, 'b'), at(10, 'a'), at(10, 'c')];
    const one = planRetention(snaps, { retentionDays: 7, minKeep: 1 }, NOW).toDelete.map((s) => s.DBSnapshotIdentifier);
    const two = planRetention([...snaps].reverse(), { retentionDays: 7, minKeep: 1 }, NOW).toDelete.map(
      (s) => s.DBSnapshotIdentifier,
    );
    expect(one).toEqual(two);
    expect(one).toHaveLength(2);
  });

  it('ignores managed snapshots without the project prefix (IAM would refuse to delete them)', () => {
    const foreign = dbSnapshot({
      DBSnapshotIdentifier: 'crm-dev-20260101-0300',
      SnapshotCreateTime: new Date(NOW.getTime() - 90 * DAY),
    });
    const { toDelete } = planRetention([at(1, 'x'), foreign], { retentionDays: 7, minKeep: 0, prefix: PREFIX }, NOW);
    expect(toDelete).toEqual([]);
  });

  it.each([
    [{ retentionDays: 0, minKeep: 1 }, /retentionDays must be an integer >= 1/],
    [{ retentionDays: 7, minKeep: -1 }, /minKeep must be an integer >= 0/],
    [{ retentionDays: 1.5, minKeep: 1 }, /retentionDays/],
  ])('rejects the policy %j', (policy, message) => {
    expect(() => planRetention([], policy, NOW)).toThrow(message);
  });
});
