/**
 * The status step of the verification workflow: one DescribeDBInstances, so the state machine can
 * poll with Wait + Choice (`available` → verify, `failed` → fail, else wait). The time limit is the
 * state machine's, not ours.
 */
import { DescribeDBInstancesCommand, type DescribeDBInstancesCommandOutput, type RDSClient } from '@aws-sdk/client-rds';
import { NotFoundError } from '../shared/errors';
import { isAwsError } from '../snapshot/rds';

/** Statuses a restore never leaves by itself (RDS "Viewing DB instance status" table). */
export const TERMINAL_FAILURE_STATUSES: ReadonlySet<string> = new Set([
  'failed',
  'incompatible-restore',
  'incompatible-parameters',
  'incompatible-network',
  'incompatible-option-group',
  'inaccessible-encryption-credentials',
  'inaccessible-encryption-credentials-recoverable',
  'restore-error',
  'storage-full',
  'deleting',
  'stopped',
]);

export interface InstanceStatus {
  readonly targetInstanceId: string;
  readonly status: string;
  readonly available: boolean;
  readonly failed: boolean;
  readonly endpoint?: { readonly address: string; readonly port: number };
}

export async function instanceStatus(rds: RDSClient, targetInstanceId: string): Promise<InstanceStatus> {
  let res: DescribeDBInstancesCommandOutput;
  try {
    res = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: targetInstanceId }));
  } catch (err) {
    if (isAwsError(err, 'DBInstanceNotFoundFault', 'DBInstanceNotFound')) {
      throw new NotFoundError(
        `restored instance ${targetInstanceId} does not exist (deleted, or the restore call failed)`,
      );
    }
    throw err;
  }
  const db = res.DBInstances?.[0];
  if (!db) throw new NotFoundError(`restored instance ${targetInstanceId} does not exist`);
  const status = db.DBInstanceStatus ?? 'unknown';
  return {
    targetInstanceId,
    status,
    available: status === 'available',
    failed: TERMINAL_FAILURE_STATUSES.has(status),
    ...(db.Endpoint?.Address && db.Endpoint.Port
      ? { endpoint: { address: db.Endpoint.Address, port: db.Endpoint.Port } }
      : {}),
  };
}
