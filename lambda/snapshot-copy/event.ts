/**
 * The EventBridge event RDS sends when a snapshot is created, as documented in the RDS User Guide
 * ("Example of a DB snapshot event"):
 *
 *   { "version": "0", "id": "...", "detail-type": "RDS DB Snapshot Event", "source": "aws.rds",
 *     "account": "123456789012", "time": "...", "region": "eu-west-1",
 *     "resources": ["arn:aws:rds:eu-west-1:123456789012:snapshot:crm-prod-20261128-0300"],
 *     "detail": { "EventCategories": ["creation"], "SourceType": "SNAPSHOT",
 *       "SourceArn": "arn:aws:rds:eu-west-1:123456789012:snapshot:crm-prod-20261128-0300",
 *       "Date": "...", "Message": "Manual snapshot created",
 *       "SourceIdentifier": "crm-prod-20261128-0300", "EventID": "RDS-EVENT-0042" } }
 *
 * Automated snapshots arrive as RDS-EVENT-0091 with an `rds:` identifier; they are not ours.
 */
import { z } from 'zod';

export const MANUAL_SNAPSHOT_CREATED = 'RDS-EVENT-0042';

export const RdsSnapshotEvent = z.looseObject({
  'detail-type': z.literal('RDS DB Snapshot Event'),
  source: z.literal('aws.rds'),
  account: z.string(),
  region: z.string(),
  time: z.string(),
  resources: z.array(z.string()).default([]),
  detail: z.looseObject({
    EventCategories: z.array(z.string()).default([]),
    SourceType: z.string(),
    SourceArn: z.string(),
    Date: z.string(),
    Message: z.string(),
    SourceIdentifier: z.string().min(1),
    EventID: z.string(),
  }),
});
export type RdsSnapshotEvent = z.infer<typeof RdsSnapshotEvent>;
