/**
 * The RDS client and the read helpers shared by the snapshot, copy, restore, verify and drill
 * functions and by `bin/ops.ts`.
 */
import {
  type DBSnapshot,
  type DescribeDBSnapshotsMessage,
  paginateDescribeDBSnapshots,
  RDSClient,
  type RDSClientConfig,
} from '@aws-sdk/client-rds';

/**
 * Attempts per RDS call. DescribeDBSnapshots and CreateDBSnapshot share an account-wide request
 * rate; with several environments' schedules firing on the hour, `Throttling` is expected. The SDK's
 * standard retry strategy (exponential backoff with jitter, throttling-aware) does the retrying:
 * we only give it more attempts than its default of 3.
 */
export const RDS_MAX_ATTEMPTS = 8;

export interface RdsClientOptions {
  readonly region?: string;
  /** For tests that exercise the real retry middleware with a fake HTTP handler. */
  readonly requestHandler?: RDSClientConfig['requestHandler'];
  readonly credentials?: RDSClientConfig['credentials'];
}

export function createRdsClient(opts: RdsClientOptions = {}): RDSClient {
  return new RDSClient({
    maxAttempts: RDS_MAX_ATTEMPTS,
    retryMode: 'standard',
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.requestHandler ? { requestHandler: opts.requestHandler } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
}

/** Page size of DescribeDBSnapshots (the API allows 20..100). */
export const SNAPSHOT_PAGE_SIZE = 100;

/** Every snapshot matching `filter`, following `Marker` across pages with the SDK paginator. */
export async function listSnapshots(rds: RDSClient, filter: DescribeDBSnapshotsMessage): Promise<DBSnapshot[]> {
  const out: DBSnapshot[] = [];
  for await (const page of paginateDescribeDBSnapshots({ client: rds, pageSize: SNAPSHOT_PAGE_SIZE }, filter)) {
    out.push(...(page.DBSnapshots ?? []));
  }
  return out;
}

/** True when `err` is the AWS error `name` (the SDK's exception class name, e.g. `DBSnapshotNotFoundFault`). */
export function isAwsError(err: unknown, ...names: string[]): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; Code?: unknown };
  return names.some((n) => e.name === n || e.Code === n);
}
