/**
 * Status step of the restore verification and drill workflows (Step Functions → Lambda).
 *
 * Input: `{ "targetInstanceId": string, ... }` (other fields ignored).
 * Output: `{ targetInstanceId, status, available, failed, endpoint?: { address, port } }`.
 * Errors: NotFoundError when the instance does not exist.
 *
 * Environment: none beyond AWS_REGION.
 */
import { z } from 'zod';
import { ValidationError } from '../shared/errors';
import { createRdsClient } from '../snapshot/rds';
import { type InstanceStatus, instanceStatus } from './status';

const rds = createRdsClient();
const Input = z.looseObject({ targetInstanceId: z.string().min(1) });

export async function handler(event: unknown): Promise<InstanceStatus> {
  const parsed = Input.safeParse(event);
  if (!parsed.success) throw new ValidationError('targetInstanceId', 'is required');
  return instanceStatus(rds, parsed.data.targetInstanceId);
}
