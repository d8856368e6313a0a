/**
 * Identifier rules of RDS (CreateDBSnapshot / CreateDBInstance API reference): letters, digits and
 * hyphens; first character a letter; no trailing hyphen; no two consecutive hyphens; at most 255
 * characters for a snapshot and 63 for a DB instance. RDS stores both in lower case.
 */

const ID_CHARS = /^[A-Za-z][A-Za-z0-9-]*$/;

/** Why `id` is not a valid RDS identifier of at most `maxLength` characters, or undefined when it is. */
export function identifierProblem(id: string, maxLength: number): string | undefined {
  if (id.length === 0) return 'must not be empty';
  if (id.length > maxLength) return `must be at most ${maxLength} characters (got ${id.length})`;
  if (!/^[A-Za-z]/.test(id)) return 'must start with a letter';
  if (!ID_CHARS.test(id)) return 'may contain only letters, digits and hyphens';
  if (id.endsWith('-')) return 'must not end with a hyphen';
  if (id.includes('--')) return 'must not contain two consecutive hyphens';
  return undefined;
}

export const MAX_INSTANCE_ID_LENGTH = 63;
export const MAX_SNAPSHOT_ID_LENGTH = 255;
/** Room left after a prefix for `-YYYYMMDD-HHMM`. */
export const TIME_SUFFIX_LENGTH = '-YYYYMMDD-HHMM'.length;

/** `YYYYMMDD-HHMM` of a date in UTC. */
export function utcMinuteStamp(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new RangeError('invalid date');
  const iso = at.toISOString(); // 2026-11-28T03:00:12.345Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

/**
 * The deterministic name of the snapshot for a schedule slot: `<prefix>-YYYYMMDD-HHMM` (UTC).
 * A retried invocation for the same slot computes the same name, so RDS answers
 * "already exists" instead of taking a second snapshot.
 */
export function snapshotName(prefix: string, scheduledTime: Date): string {
  return `${prefix.toLowerCase()}-${utcMinuteStamp(scheduledTime)}`;
}

/** A new instance id `<base>-YYYYMMDD-HHMM`, the base shortened so the whole fits RDS's 63 characters. */
export function timestampedInstanceId(base: string, at: Date): string {
  const room = MAX_INSTANCE_ID_LENGTH - TIME_SUFFIX_LENGTH;
  const trimmed = base.toLowerCase().slice(0, room).replace(/-+$/, '');
  return `${trimmed}-${utcMinuteStamp(at)}`;
}
