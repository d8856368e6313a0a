import type { EnvironmentConfig } from './environment-config';

/** Production: Multi-AZ, deletion protection, longer retention, termination-protected stacks. */
export const prod: EnvironmentConfig = {
  name: 'prod',
  terminationProtection: true,
  logRetentionDays: 365,
  network: { cidr: '10.50.0.0/16', azCount: 3, natGateways: 2 },
  database: {
    instanceClass: 'm7g.large',
    allocatedStorageGiB: 100,
    maxAllocatedStorageGiB: 1000,
    multiAz: true,
    backupRetentionDays: 35,
    deletionProtection: true,
    removalPolicy: 'snapshot',
    port: 5433,
    masterUsername: 'crm_owner',
    databaseName: 'crm',
    monitoringIntervalSeconds: 15,
    databaseInsights: 'advanced',
    secretRotationDays: 30,
    parameters: {
      logMinDurationStatementMs: 250,
      idleInTransactionSessionTimeoutMs: 60_000,
      statementTimeoutMs: 30_000,
    },
    proxy: { maxConnectionsPercent: 75, maxIdleConnectionsPercent: 25, idleClientTimeoutSeconds: 1800 },
    migration: { lockTimeoutMs: 5_000, statementTimeoutMs: 600_000, snapshotBeforeMigration: true },
  },
  api: {
    throttling: { rateLimit: 500, burstLimit: 1_000 },
    wafRateLimitPer5Min: 3_000,
    allowedIpCidrs: [],
    corsOrigins: ['https://crm.example.com'],
    maxBodyKiB: 64,
    reservedConcurrency: 100,
    memoryMiB: 1_024,
    dbPoolMax: 2,
    mfa: 'required',
  },
  alarms: { emails: ['crm-oncall@example.com'] },
};
