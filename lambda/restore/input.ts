/**
 * The restore request operators send (Lambda input, and what `ops restore` builds):
 * `{ "snapshotId"?, "pointInTime"? (ISO-8601 with zone | "latest"), "targetInstanceId"?, "dryRun"?, "requestedBy"? }`.
 * Shape errors are ValidationErrors naming the field, raised before any AWS call.
 */
import { z } from 'zod';
import { ValidationError } from '../shared/errors';
import { identifierProblem, MAX_INSTANCE_ID_LENGTH, MAX_SNAPSHOT_ID_LENGTH } from '../snapshot/naming';

const RawInput = z.strictObject({
  snapshotId: z.string().trim().min(1, 'must not be empty').optional(),
  pointInTime: z.string().trim().min(1, 'must not be empty').optional(),
  targetInstanceId: z.string().trim().min(1, 'must not be empty').optional(),
  dryRun: z.boolean().optional(),
  requestedBy: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
});

export type RestoreSource =
  | { readonly type: 'snapshot'; readonly snapshotId: string }
  | { readonly type: 'point-in-time'; readonly time: Date | 'latest' };

export interface RestoreRequest {
  readonly source: RestoreSource;
  readonly targetInstanceId?: string;
  readonly dryRun: boolean;
  readonly requestedBy?: string;
}

const ISO_WITH_ZONE = z.iso.datetime({ offset: true });
/** Characters RDS accepts in tag values. */
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function parseRestoreRequest(raw: unknown): RestoreRequest {
  const parsed = RawInput.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw new ValidationError(
        issue.keys[0]!,
        'is not a restore option (expected snapshotId, pointInTime, targetInstanceId, dryRun, requestedBy)',
      );
    }
    throw new ValidationError(issue.path.map(String).join('.') || 'input', issue.message);
  }
  const { snapshotId, pointInTime, targetInstanceId, dryRun, requestedBy } = parsed.data;

  if (snapshotId !== undefined && pointInTime !== undefined) {
    throw new ValidationError('pointInTime', 'give either snapshotId or pointInTime, not both');
  }
  if (snapshotId === undefined && pointInTime === undefined) {
    throw new ValidationError('snapshotId', 'one of snapshotId or pointInTime is required');
  }

  let source: RestoreSource;
  if (snapshotId !== undefined) {
    // Automated snapshots are named `rds:<instance>-<date>`; the rest follows the RDS naming rules.
    const problem = identifierProblem(snapshotId.replace(/^rds:/, ''), MAX_SNAPSHOT_ID_LENGTH);
    if (problem)
      throw new ValidationError('snapshotId', `"${snapshotId}" is not a valid snapshot identifier: ${problem}`);
    source = { type: 'snapshot', snapshotId };
  } else if (pointInTime!.toLowerCase() === 'latest') {
    source = { type: 'point-in-time', time: 'latest' };
  } else {
    if (!ISO_WITH_ZONE.safeParse(pointInTime).success) {
      throw new ValidationError(
        'pointInTime',
        `"${pointInTime}" must be an ISO-8601 date-time with a time zone (e.g. 2026-11-28T09:30:00Z) or "latest"`,
      );
    }
    source = { type: 'point-in-time', time: new Date(pointInTime!) };
  }

  if (targetInstanceId !== undefined) {
    const problem = identifierProblem(targetInstanceId, MAX_INSTANCE_ID_LENGTH);
    if (problem)
      throw new ValidationError(
        'targetInstanceId',
        `"${targetInstanceId}" is not a valid DB instance identifier: ${problem}`,
      );
  }
  if (requestedBy !== undefined && !TAG_VALUE.test(requestedBy)) {
    throw new ValidationError('requestedBy', 'may contain only letters, digits, spaces and _ . : / = + - @');
  }
  return { source, targetInstanceId: targetInstanceId?.toLowerCase(), dryRun: dryRun ?? false, requestedBy };
}
