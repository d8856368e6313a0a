/**
 * Restore drill steps (Step Functions → Lambda; `check-freshness` from a daily schedule).
 * One function, dispatched on `action`:
 *
 * - `{ "action": "sweep", "minAgeMinutes" }` → `{ deleted, skipped }`: deletes leftovers of earlier
 *   drills (named `<DRILL_PREFIX>-*` AND tagged drill=true, older than minAgeMinutes) and their log groups
 * - `{ "action": "pick-snapshot" }` → `{ snapshotId, snapshotArn, snapshotCreateTime }`
 * - `{ "action": "restore", "snapshotId", "targetInstanceId"? }` → `{ targetInstanceId,
 *   restoreStartedAt, verificationInput, plan }` (the restore core in drill mode: `<DRILL_PREFIX>-…`,
 *   tag drill=true, deletion protection off; no workflow started)
 * - `{ "action": "delete-instance", "targetInstanceId" }` → `{ targetInstanceId, outcome:
 *   "deleting" | "already-deleted", logGroupsDeleted }`; DrillGuardError for anything that is not a
 *   drill instance. Also deletes the instance's `/aws/rds/instance/<id>/{postgresql,upgrade}` log groups.
 * - `{ "action": "record", "succeeded": boolean, "restoreStartedAt"? }` → `{ succeeded, durationSeconds? }`
 * - `{ "action": "check-freshness", "stateMachineArn" }` → `{ daysSinceLastSuccess, lastSuccessAt? }`
 *
 * Environment:
 * - DB_INSTANCE_ID     live instance (required)
 * - SNAPSHOT_PREFIX    managed snapshot prefix (required)
 * - DRILL_PREFIX       drill instance prefix, e.g. `crm-prod-drill`; the live id must not start with it (required)
 * - METRICS_NAMESPACE  CloudWatch namespace (required); dimension service=crm-restore-drill
 * - LOG_GROUP_KMS_KEY_ARN  key the drill instance's `/aws/rds/instance/<id>/*` log groups are created
 *                      with before the restore (required)
 * - LOG_RETENTION_DAYS retention of those log groups (default 30)
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { parseRestoreRequest } from '../restore/input';
import { runRestore } from '../restore/restore';
import { intVar, parseEnv, requiredString } from '../shared/env';
import { ValidationError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { createMetrics } from '../shared/metrics';
import { createRdsClient } from '../snapshot/rds';
import {
  type DrillClients,
  type DrillConfig,
  deleteDrillInstance,
  drillFreshness,
  pickNewestSnapshot,
  recordDrill,
  sweepDrillLeftovers,
  validateDrillConfig,
} from './drill';

const env = parseEnv(
  z.object({
    DB_INSTANCE_ID: requiredString,
    SNAPSHOT_PREFIX: requiredString,
    DRILL_PREFIX: requiredString,
    METRICS_NAMESPACE: requiredString,
    LOG_GROUP_KMS_KEY_ARN: requiredString,
    LOG_RETENTION_DAYS: intVar(30, 1),
  }),
);
const config: DrillConfig = {
  liveInstanceId: env.DB_INSTANCE_ID,
  snapshotPrefix: env.SNAPSHOT_PREFIX,
  drillPrefix: env.DRILL_PREFIX,
};
validateDrillConfig(config);

const logger = createLogger('crm-restore-drill');
const metrics = createMetrics(env.METRICS_NAMESPACE, 'crm-restore-drill');
const rds = createRdsClient();
const sfn = new SFNClient({ maxAttempts: 5 });
const logs = new CloudWatchLogsClient({ maxAttempts: 5 });
const clients: DrillClients = { rds, logs };

export const DrillEvent = z.discriminatedUnion('action', [
  z.object({ action: z.literal('sweep'), minAgeMinutes: z.number().int().positive() }),
  z.object({ action: z.literal('pick-snapshot') }),
  z.object({
    action: z.literal('restore'),
    snapshotId: z.string().min(1),
    targetInstanceId: z.string().min(1).optional(),
  }),
  z.object({ action: z.literal('delete-instance'), targetInstanceId: z.string().min(1) }),
  z.object({
    action: z.literal('record'),
    succeeded: z.boolean(),
    restoreStartedAt: z.iso.datetime({ offset: true }).optional(),
  }),
  z.object({ action: z.literal('check-freshness'), stateMachineArn: z.string().startsWith('arn:') }),
]);

export async function handler(event: unknown): Promise<unknown> {
  const parsed = DrillEvent.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(issue.path.map(String).join('.') || 'action', issue.message);
  }
  const e = parsed.data;
  try {
    switch (e.action) {
      case 'sweep': {
        const swept = await sweepDrillLeftovers(clients, config, { minAgeMinutes: e.minAgeMinutes, now: new Date() });
        if (swept.deleted.length > 0) logger.warn('deleted leftovers of earlier drills', { ...swept });
        return swept;
      }
      case 'pick-snapshot':
        return await pickNewestSnapshot(rds, config);
      case 'restore': {
        const r = await runRestore(
          {
            liveInstanceId: config.liveInstanceId,
            mode: 'drill',
            drillPrefix: config.drillPrefix,
            logGroups: { kmsKeyArn: env.LOG_GROUP_KMS_KEY_ARN, retentionDays: env.LOG_RETENTION_DAYS },
          },
          { rds, sfn, logs, now: () => new Date() },
          parseRestoreRequest({
            snapshotId: e.snapshotId,
            targetInstanceId: e.targetInstanceId,
            requestedBy: 'restore-drill',
          }),
        );
        return {
          targetInstanceId: r.targetInstanceId,
          restoreStartedAt: r.restoreStartedAt,
          verificationInput: r.verificationInput,
          plan: r.plan,
        };
      }
      case 'delete-instance':
        return await deleteDrillInstance(clients, config, e.targetInstanceId);
      case 'record': {
        const record = recordDrill(metrics, e.succeeded, e.restoreStartedAt, new Date());
        metrics.publishStoredMetrics();
        return record;
      }
      case 'check-freshness': {
        const freshness = await drillFreshness(sfn, metrics, e.stateMachineArn, new Date());
        metrics.publishStoredMetrics();
        return freshness;
      }
    }
  } catch (err) {
    logger.error(`drill step ${e.action} failed`, err as Error);
    throw err;
  }
}
