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
    mfa: 'optional',
  },
  alarms: { emails: [] },
};
