/**
 * The deployment-config fields (lib/config `EnvironmentConfig`) that findings tell operators to
 * change. Named here once so renaming one in lib/config is a one-line change.
 */
export const CONFIG_FIELDS = {
  instanceClass: 'database.instanceClass',
  sharedBuffersMb: 'database.parameters.sharedBuffersMb',
  effectiveCacheSizeMb: 'database.parameters.effectiveCacheSizeMb',
  workMemMb: 'database.parameters.workMemMb',
  maintenanceWorkMemMb: 'database.parameters.maintenanceWorkMemMb',
  randomPageCost: 'database.parameters.randomPageCost',
  idleInTransactionSessionTimeoutMs: 'database.parameters.idleInTransactionSessionTimeoutMs',
  statementTimeoutMs: 'database.parameters.statementTimeoutMs',
  minWalSizeMb: 'database.parameters.minWalSizeMb',
  maxWalSizeMb: 'database.parameters.maxWalSizeMb',
  checkpointCompletionTarget: 'database.parameters.checkpointCompletionTarget',
  effectiveIoConcurrency: 'database.parameters.effectiveIoConcurrency',
  walCompression: 'database.parameters.walCompression',
  jit: 'database.parameters.jit',
  pgStatStatementsMax: 'database.parameters.pgStatStatementsMax',
} as const;
