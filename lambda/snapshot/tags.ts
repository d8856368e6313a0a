/**
 * Tag vocabulary of the backup and restore functions. The `managed-by` tag is the ONLY thing that
 * lets retention delete a snapshot: a snapshot without it was not made by this project and is
 * never touched. IAM conditions in OpsStack use the same keys (`rds:snapshot-tag/managed-by`,
 * `rds:db-tag/drill`), so renaming one here is a breaking change.
 */
import type { Tag } from '@aws-sdk/client-rds';

export const TAG_MANAGED_BY = 'managed-by';
export const MANAGED_BY_VALUE = 'crm-platform';
export const TAG_ENVIRONMENT = 'environment';
export const TAG_SCHEDULE = 'schedule';
export const TAG_SCHEMA_VERSION = 'schema-version';
export const TAG_COPIED_FROM = 'copied-from';
export const TAG_RESTORED_FROM = 'restored-from';
export const TAG_REQUESTED_BY = 'requested-by';
/** On drill instances only; the drill cleanup refuses to delete an instance without it. */
export const TAG_DRILL = 'drill';
export const DRILL_TAG_VALUE = 'true';

/** Tag list (as RDS returns it) to a map; later duplicates win, missing values become ''. */
export function tagMap(tags: readonly Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) {
    if (t.Key) out[t.Key] = t.Value ?? '';
  }
  return out;
}

export function toTagList(tags: Record<string, string | undefined>): Tag[] {
  return Object.entries(tags)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([Key, Value]) => ({ Key, Value }));
}

export function isManaged(tags: readonly Tag[] | undefined): boolean {
  return tagMap(tags)[TAG_MANAGED_BY] === MANAGED_BY_VALUE;
}

/** RDS refuses tag keys starting with `aws:` (they are reserved); copying them would fail the call. */
export function userTags(tags: readonly Tag[] | undefined): Tag[] {
  return (tags ?? []).filter((t) => t.Key && !t.Key.toLowerCase().startsWith('aws:'));
}
