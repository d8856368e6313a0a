/** The RDS snapshot event and destination settings shared by the snapshot-copy core and handler tests. */
import { ACCOUNT, PREFIX, REGION } from '../snapshot/fixtures';

export const DEST = 'eu-central-1';
export const DEST_KEY = `arn:aws:kms:${DEST}:${ACCOUNT}:key/9f8e7d6c-5b4a-3210-fedc-ba9876543210`;
export const SNAP_ID = `${PREFIX}-20261128-0300`;
export const SNAP_ARN = `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:${SNAP_ID}`;

/** The event RDS sends to EventBridge when a manual snapshot completes (RDS User Guide example shape), unparsed. */
export const snapshotCreatedEvent = (detail: Record<string, unknown> = {}) => ({
  version: '0',
  id: '844e2571-85d4-695f-b930-0153b71dcb42',
  'detail-type': 'RDS DB Snapshot Event',
  source: 'aws.rds',
  account: ACCOUNT,
  time: '2026-11-28T03:14:13Z',
  region: REGION,
  resources: [SNAP_ARN],
  detail: {
    EventCategories: ['creation'],
    SourceType: 'SNAPSHOT',
    SourceArn: SNAP_ARN,
    Date: '2026-11-28T03:14:13.882Z',
    Message: 'Manual snapshot created',
    SourceIdentifier: SNAP_ID,
    EventID: 'RDS-EVENT-0042',
    ...detail,
  },
});
