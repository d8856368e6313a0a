/** What the restore-verify handler tests share: the deployed names and the workflow's Verify input. */
import { ACCOUNT, REGION } from '../snapshot/fixtures';

export const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:crm-prod-db-master-AbCdEf`;
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:crm-prod-alarms`;
export const TARGET = 'crm-prod-restore-20261128-1100';

/**
 * The restore function's VerificationInput plus the status step's output, as the state machine
 * passes them to Verify, with `over` on top. The status step's `endpoint` defaults to the restored instance's RDS endpoint; TLS tests give
 * `localhost` and the test cluster's port (its certificate names "localhost", as an RDS certificate
 * names the instance endpoint).
 */
export function verifyEvent(
  over: Record<string, unknown> = {},
  endpoint: { readonly address: string; readonly port: number } = {
    address: `${TARGET}.c9akciq32.${REGION}.rds.amazonaws.com`,
    port: 5432,
  },
): Record<string, unknown> {
  return {
    targetInstanceId: TARGET,
    sourceInstanceId: 'crm-prod',
    restoredFrom: 'crm-prod-20261127-0300',
    restoreStartedAt: '2026-11-28T11:00:00Z',
    requestedBy: 'alice',
    drill: false,
    status: { targetInstanceId: TARGET, status: 'available', available: true, failed: false, endpoint },
    ...over,
  };
}
