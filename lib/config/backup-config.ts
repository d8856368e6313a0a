import { z } from 'zod';

const int = (min: number, max: number) => {
  const error = `must be an integer between ${min} and ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

/** EventBridge Scheduler cron: `cron(minutes hours day-of-month month day-of-week year)`. */
export const schedulerCron = z.string().regex(/^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/, {
  error: 'must be an EventBridge Scheduler cron expression with 6 fields, e.g. cron(0 3 * * ? *)',
});

/** IANA time zone name as EventBridge Scheduler accepts it. */
export const timeZone = z.string().regex(/^(UTC|Etc\/UTC|[A-Z][A-Za-z_]+\/[A-Za-z_]+(\/[A-Za-z_]+)?)$/, {
  error: 'must be an IANA time zone such as UTC or Europe/Paris',
});

const region = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: 'must be an AWS region such as eu-west-1' });

/** Scheduled snapshots, retention, cross-region copies, restore verification and drills. */
export const backupConfigSchema = z
  .object({
    /** When the daily snapshot is taken. */
    snapshotSchedule: schedulerCron,
    /** Time zone of `snapshotSchedule` and `drillSchedule`. */
    timeZone,
    /** Managed snapshots older than this are pruned (never below `minKeep`). */
    retentionDays: int(1, 3650),
    /** The newest available managed snapshots always kept. */
    minKeep: int(1, 100),
    /** The account's manual-snapshot quota; an alarm fires at 80 %. */
    manualSnapshotQuota: int(1, 10000),
    /** Optional copy of every managed snapshot to another region, with a customer-managed key there. */
    crossRegionCopy: z
      .object({
        region,
        kmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/, {
          error:
            'must be the ARN of a customer-managed KMS key (arn:aws:kms:<region>:<account>:key/<id>); aliases and aws/rds are refused',
        }),
      })
      .optional(),
    /** How long the restore verification waits for the new instance before failing. */
    restoreTimeoutMinutes: int(30, 720),
    /** When the restore drill runs (monthly is usual). */
    drillSchedule: schedulerCron,
  })
  .superRefine((b, ctx) => {
    const m = b.crossRegionCopy?.kmsKeyArn.match(/^arn:aws[a-z-]*:kms:([a-z0-9-]+):/);
    if (b.crossRegionCopy && m && m[1] !== b.crossRegionCopy.region) {
      ctx.addIssue({
        code: 'custom',
        path: ['crossRegionCopy', 'kmsKeyArn'],
        message: `must be a key in crossRegionCopy.region (${b.crossRegionCopy.region}), got one in ${m[1]}`,
      });
    }
  });

export type BackupConfig = z.infer<typeof backupConfigSchema>;
