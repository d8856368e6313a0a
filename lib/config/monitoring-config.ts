import { z } from 'zod';
import { schedulerCron, timeZone } from './backup-config';

const int = (min: number, max: number) => {
  const error = `must be an integer between ${min} and ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

const percent = (min: number, max: number) => {
  const error = `must be a number between ${min} and ${max}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
};

/**
 * Alarm thresholds (lib/constructs/crm-monitoring.ts). Every alarm notifies the alarm topic, on
 * ALARM and on OK. Latencies are in milliseconds whatever unit CloudWatch reports.
 */
export const monitoringConfigSchema = z.object({
  database: z.object({
    /** Average CPU of the instance, %. */
    cpuPercent: int(1, 100),
    /** Free storage below this many GiB (must be below database.allocatedStorageGiB). */
    freeStorageGiB: int(1, 65_536),
    /** Free storage below this share of database.allocatedStorageGiB, %. */
    freeStoragePercent: int(1, 99),
    /** Freeable memory below this many MiB. */
    freeableMemoryMiB: int(16, 1_048_576),
    /** Client connections above this share of the instance class's default max_connections, %. */
    connectionsPercentOfMax: int(1, 100),
    /** Average read latency, ms. */
    readLatencyMs: int(1, 10_000),
    /** Average write latency, ms. */
    writeLatencyMs: int(1, 10_000),
    /** Average outstanding I/O requests. */
    diskQueueDepth: int(1, 1_000),
  }),
  proxy: z.object({
    /** RDS Proxy client connections (maximum in 5 minutes). */
    clientConnections: int(1, 100_000),
    /** Average time to borrow a database connection from the proxy's pool, ms. */
    borrowLatencyMs: int(1, 60_000),
  }),
  api: z.object({
    /** Share of API requests answered with 5XX, %. */
    serverErrorRatePercent: percent(0.1, 100),
    /** p99 latency of the API stage, ms (API Gateway's integration timeout is 29 s). */
    latencyP99Ms: int(50, 29_000),
  }),
  lambda: z.object({
    /** Maximum duration of any function above this share of its timeout, %. */
    durationPercentOfTimeout: int(10, 100),
  }),
  waf: z.object({
    /** Requests blocked by the web ACL in 5 minutes. */
    blockedRequestsPer5Min: int(1, 2_000_000_000),
  }),
});

/** The weekly database advisor (lambda/advisor, docs/advisor.md). */
export const advisorConfigSchema = z.object({
  /** When the advisor runs (weekly is usual). */
  schedule: schedulerCron,
  /** Time zone of `schedule`. */
  timeZone,
  /** Reports under `reports/` in the report bucket expire after this many days. */
  reportRetentionDays: int(7, 3650),
});

export type MonitoringConfig = z.infer<typeof monitoringConfigSchema>;
export type AdvisorConfig = z.infer<typeof advisorConfigSchema>;
