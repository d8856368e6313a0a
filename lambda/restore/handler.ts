/**
 * Operator restore (invoked directly: console, `aws lambda invoke`, or the drill workflow's
 * counterpart in lambda/drill). Never modifies, stops or deletes the source instance.
 *
 * Input: `{ "snapshotId"?: string, "pointInTime"?: ISO-8601 | "latest", "targetInstanceId"?: string,
 *   "dryRun"?: boolean, "requestedBy"?: string }` — exactly one of snapshotId / pointInTime.
 * Output: `{ targetInstanceId, dryRun, executionArn?, restoreStartedAt?, verificationInput?, plan }`.
 * Bad input fails the invocation with a ValidationError (`errorType` "ValidationError", message
 * "<field>: <reason>") before any mutating call.
 *
 * Environment:
 * - DB_INSTANCE_ID            the live instance (required)
 * - VERIFY_STATE_MACHINE_ARN  verification workflow started after the restore call (required)
 * - LOG_GROUP_KMS_KEY_ARN     key the new instance's `/aws/rds/instance/<target>/*` log groups are
 *                             created with, before the restore call (required)
 * - LOG_RETENTION_DAYS        retention of those log groups, a CloudWatch Logs retention value (default 30)
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { intVar, parseEnv, requiredString } from '../shared/env';
import { createLogger } from '../shared/logger';
import { createRdsClient } from '../snapshot/rds';
import { parseRestoreRequest } from './input';
import { type RestoreResult, runRestore } from './restore';

const env = parseEnv(
  z.object({
    DB_INSTANCE_ID: requiredString,
    VERIFY_STATE_MACHINE_ARN: requiredString,
    LOG_GROUP_KMS_KEY_ARN: requiredString,
    LOG_RETENTION_DAYS: intVar(30, 1),
  }),
);
const logger = createLogger('crm-restore');
const rds = createRdsClient();
const sfn = new SFNClient({ maxAttempts: 5 });
const logs = new CloudWatchLogsClient({ maxAttempts: 5 });

export async function handler(event: unknown): Promise<RestoreResult> {
  try {
    const request = parseRestoreRequest(event);
    const result = await runRestore(
      {
        liveInstanceId: env.DB_INSTANCE_ID,
        verifyStateMachineArn: env.VERIFY_STATE_MACHINE_ARN,
        logGroups: { kmsKeyArn: env.LOG_GROUP_KMS_KEY_ARN, retentionDays: env.LOG_RETENTION_DAYS },
      },
      { rds, sfn, logs, now: () => new Date() },
      request,
    );
    logger.info(result.dryRun ? 'restore planned (dry run)' : 'restore started', {
      targetInstanceId: result.targetInstanceId,
      source: result.plan.source,
      executionArn: result.executionArn,
      requestedBy: request.requestedBy,
    });
    return result;
  } catch (err) {
    logger.error('restore refused or failed', err as Error);
    throw err;
  }
}
