import type * as logs from 'aws-cdk-lib/aws-logs';

/** Config days → RetentionDays (the config validator already restricted the value to valid ones). */
export function retentionDays(days: number): logs.RetentionDays {
  return days as logs.RetentionDays;
}
