import type { EnvironmentConfig } from './environment-config';

/** Development: cheap (single AZ database, one NAT gateway, small instance), easy to tear down. */
export const dev: EnvironmentConfig = {
  name: 'dev',
  terminationProtection: false,
  logRetentionDays: 365,
  network: { cidr: '10.40.0.0/16', azCount: 2, natGateways: 1 },
  database: {
    instanceClass: 't4g.micro',
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 50,
    multiAz: false,
    backupRetentionDays: 7,
    deletionProtection: false,
    removalPolicy: 'snapshot',
    port: 5433,
    masterUsername: 'crm_owner',
    databaseName: 'crm',
    monitoringIntervalSeconds: 60,
    databaseInsights: 'standard',
    secretRotationDays: 30,
    parameters: {
      logMinDurationStatementMs: 500,
      idleInTransactionSessionTimeoutMs: 60_000,
      statementTimeoutMs: 30_000,
      randomPageCost: 1.1,
    },
    proxy: { maxConnectionsPercent: 80, maxIdleConnectionsPercent: 20, idleClientTimeoutSeconds: 1800 },
    migration: { lockTimeoutMs: 5_000, statementTimeoutMs: 600_000, snapshotBeforeMigration: false },
  },
  api: {
    throttling: { rateLimit: 50, burstLimit: 100 },
    wafRateLimitPer5Min: 2_000,
    allowedIpCidrs: [],
    corsOrigins: ['https://crm-dev.example.com', 'http://localhost:3000'],
    maxBodyKiB: 64,
    reservedConcurrency: 10,
    memoryMiB: 512,
    dbPoolMax: 2,
    // dev and prod share one account and region here (both default to CDK_DEFAULT_ACCOUNT):
    // prod sets the account's API Gateway logging role, dev relies on it. Set true when dev
    // has an account of its own.
    manageAccountLoggingRole: false,
    mfa: 'optional',
  },
  // Reserved concurrency needs an account limit of at least the total + 100
  // (docs/runbooks/prerequisites.md); false runs without reservations.
  lambda: { reservedConcurrency: true },
  backup: {
    snapshotSchedule: 'cron(0 3 * * ? *)',
    timeZone: 'UTC',
    retentionDays: 7,
    minKeep: 3,
    manualSnapshotQuota: 100,
    restoreTimeoutMinutes: 120,
    drillSchedule: 'cron(0 4 1 * ? *)',
  },
  alarms: { emails: [] },
  monitoring: {
    database: {
      cpuPercent: 90,
      freeStorageGiB: 2,
      freeStoragePercent: 10,
      freeableMemoryMiB: 64,
      connectionsPercentOfMax: 80,
      readLatencyMs: 50,
      writeLatencyMs: 50,
      diskQueueDepth: 20,
    },
    proxy: { clientConnections: 100, borrowLatencyMs: 100 },
    api: { serverErrorRatePercent: 5, latencyP99Ms: 3000 },
    lambda: { durationPercentOfTimeout: 80 },
    waf: { blockedRequestsPer5Min: 500 },
  },
  advisor: { schedule: 'cron(0 5 ? * MON *)', timeZone: 'UTC', reportRetentionDays: 30 },
};
