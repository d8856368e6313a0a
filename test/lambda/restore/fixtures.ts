/** Names shared by the restore core and handler tests (ARNs in the shape Step Functions returns). */
import { ACCOUNT, REGION } from '../snapshot/fixtures';

export const SM_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:crm-prod-restore-verify`;
export const EXEC_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:execution:crm-prod-restore-verify:crm-prod-restore-20261128-1100`;
/** An available managed snapshot of the live instance (see `dbSnapshot`). */
export const SNAP = 'crm-prod-20261127-0300';
