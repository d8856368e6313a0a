/**
 * Snapshot retention: a pure function over the snapshots DescribeDBSnapshots returned (tags come
 * from each snapshot's `TagList`, so there is no per-snapshot ListTagsForResource call to be
 * throttled). Used for the source region by the snapshot function and for the destination region
 * by the copy function, so both prune by exactly the same rules:
 *
 * - only *managed* snapshots are candidates: tag `managed-by=crm-platform`, type `manual`, status
 *   `available`, a known create time, and (when given) the project's identifier prefix, which is
 *   also what the IAM policy allows to be deleted;
 * - the `max(minKeep, 1)` newest candidates are always kept, so the newest snapshot survives even
 *   with `minKeep: 0`, and pruning never leaves fewer than `minKeep` available managed snapshots;
 * - of the rest, exactly those older than `retentionDays` are deleted.
 *
 * Unmanaged, automated, shared/public, creating or failed snapshots are never deleted.
 */
import type { DBSnapshot } from '@aws-sdk/client-rds';
import { isManaged } from './tags';

export interface RetentionPolicy {
  /** Managed snapshots older than this many days are deleted (beyond `minKeep`). */
  readonly retentionDays: number;
  /** This many newest available managed snapshots are always kept. */
  readonly minKeep: number;
  /** When set, only snapshots whose identifier starts with `<prefix>-` are candidates. */
  readonly prefix?: string;
}

export type KeepReason =
  | 'unmanaged'
  | 'not-manual'
  | 'not-available'
  | 'no-create-time'
  | 'min-keep'
  | 'within-retention';

export interface RetentionDecision {
  readonly snapshotId: string;
  readonly createdAt?: Date;
  readonly action: 'keep' | 'delete';
  readonly reason: KeepReason | 'expired';
}

export interface RetentionPlan {
  /** Snapshots to delete, oldest first. */
  readonly toDelete: readonly DBSnapshot[];
  /** One decision per input snapshot, in input order, for logs. */
  readonly decisions: readonly RetentionDecision[];
}

const DAY_MS = 86_400_000;

export function validatePolicy(policy: RetentionPolicy): void {
  if (!Number.isInteger(policy.retentionDays) || policy.retentionDays < 1) {
    throw new RangeError(`retentionDays must be an integer >= 1 (got ${policy.retentionDays})`);
  }
  if (!Number.isInteger(policy.minKeep) || policy.minKeep < 0) {
    throw new RangeError(`minKeep must be an integer >= 0 (got ${policy.minKeep})`);
  }
}

function candidateProblem(s: DBSnapshot, prefix: string | undefined): KeepReason | undefined {
  if (!isManaged(s.TagList)) return 'unmanaged';
  if (prefix !== undefined && !s.DBSnapshotIdentifier?.startsWith(`${prefix.toLowerCase()}-`)) return 'unmanaged';
  if (s.SnapshotType !== 'manual') return 'not-manual';
  if (s.Status !== 'available') return 'not-available';
  if (!(s.SnapshotCreateTime instanceof Date) || Number.isNaN(s.SnapshotCreateTime.getTime())) return 'no-create-time';
  return undefined;
}

/** Newest first; ties broken by identifier so the plan is deterministic. */
function newestFirst(a: DBSnapshot, b: DBSnapshot): number {
  const dt = b.SnapshotCreateTime!.getTime() - a.SnapshotCreateTime!.getTime();
  if (dt !== 0) return dt;
  return (b.DBSnapshotIdentifier ?? '').localeCompare(a.DBSnapshotIdentifier ?? '');
}

export function planRetention(snapshots: readonly DBSnapshot[], policy: RetentionPolicy, now: Date): RetentionPlan {
  validatePolicy(policy);
  const cutoff = now.getTime() - policy.retentionDays * DAY_MS;
  const keepNewest = Math.max(policy.minKeep, 1);

  const reasons = new Map<DBSnapshot, RetentionDecision['reason']>();
  const candidates: DBSnapshot[] = [];
  for (const s of snapshots) {
    const problem = candidateProblem(s, policy.prefix);
    if (problem) reasons.set(s, problem);
    else candidates.push(s);
  }
  candidates.sort(newestFirst);
  const toDelete: DBSnapshot[] = [];
  candidates.forEach((s, i) => {
    if (i < keepNewest) reasons.set(s, 'min-keep');
    else if (s.SnapshotCreateTime!.getTime() < cutoff) {
      reasons.set(s, 'expired');
      toDelete.push(s);
    } else reasons.set(s, 'within-retention');
  });

  return {
    toDelete: toDelete.reverse(),
    decisions: snapshots.map((s) => {
      const reason = reasons.get(s)!;
      return {
        snapshotId: s.DBSnapshotIdentifier ?? '',
        createdAt: s.SnapshotCreateTime,
        action: reason === 'expired' ? 'delete' : 'keep',
        reason,
      };
    }),
  };
}
