/**
 * Cross-region snapshot copy (EventBridge rule on the RDS snapshot event → Lambda).
 *
 * Rule pattern: `{ "source": ["aws.rds"], "detail-type": ["RDS DB Snapshot Event"],
 *   "detail": { "EventID": ["RDS-EVENT-0042"], "SourceIdentifier": [{ "prefix": "<SNAPSHOT_PREFIX>-" }] } }`
 * Input: that event (see ./event.ts). Output: `{ snapshotId, outcome: "copy-started" |
 * "already-exists" | "ignored", reason?, destinationRegion, pruned: string[] }`.
 *
 * Environment:
 * - DB_INSTANCE_ID           live instance; only its snapshots are copied (required)
 * - SNAPSHOT_PREFIX          only `<prefix>-*` snapshots are copied and pruned (required)
 * - DESTINATION_REGION       region of the copies, different from AWS_REGION (required)
 * - DESTINATION_KMS_KEY_ARN  ARN of a customer managed key in DESTINATION_REGION; `aws/rds` is refused (required)
 * - RETENTION_DAYS, MIN_KEEP retention of the copies (defaults 7 and 3, as the source)
 * - METRICS_NAMESPACE        CloudWatch namespace (required); dimension service=crm-snapshot-copy
 */
import { z } from 'zod';
import { intVar, parseEnv, requiredString } from '../shared/env';
import { ValidationError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { createMetrics } from '../shared/metrics';
import { createRdsClient } from '../snapshot/rds';
import { type CopyConfig, type CopyResult, copyManagedSnapshot, validateCopyConfig } from './copy';
import { RdsSnapshotEvent } from './event';

const env = parseEnv(
  z.object({
    AWS_REGION: requiredString,
    DB_INSTANCE_ID: requiredString,
    SNAPSHOT_PREFIX: requiredString,
    DESTINATION_REGION: requiredString,
    DESTINATION_KMS_KEY_ARN: z.string().default(''),
    RETENTION_DAYS: intVar(7, 1),
    MIN_KEEP: intVar(3, 0),
    METRICS_NAMESPACE: requiredString,
  }),
);
const config: CopyConfig = {
  instanceId: env.DB_INSTANCE_ID,
  prefix: env.SNAPSHOT_PREFIX.toLowerCase(),
  sourceRegion: env.AWS_REGION,
  destinationRegion: env.DESTINATION_REGION,
  destinationKmsKeyArn: env.DESTINATION_KMS_KEY_ARN,
  retention: { retentionDays: env.RETENTION_DAYS, minKeep: env.MIN_KEEP },
};
validateCopyConfig(config); // a wrong key fails every cold start loudly, not just the first copy

const logger = createLogger('crm-snapshot-copy');
const metrics = createMetrics(env.METRICS_NAMESPACE, 'crm-snapshot-copy');
const source = createRdsClient();
const destination = createRdsClient({ region: env.DESTINATION_REGION });

export async function handler(event: unknown): Promise<CopyResult> {
  try {
    const parsed = RdsSnapshotEvent.safeParse(event);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ValidationError(issue.path.map(String).join('.') || 'event', issue.message);
    }
    const result = await copyManagedSnapshot(
      config,
      { source, destination, metrics, logger, now: () => new Date() },
      parsed.data,
    );
    logger.info('copy run finished', { ...result });
    return result;
  } catch (err) {
    metrics.addMetric('SnapshotCopyFailed', 'Count', 1);
    logger.error('copy run failed', err as Error);
    throw err;
  } finally {
    metrics.publishStoredMetrics();
  }
}
