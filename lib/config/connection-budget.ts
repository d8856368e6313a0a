import type { EnvironmentConfig } from './environment-config';

const GIB = 1024 ** 3;

/** Memory of the instance classes `INSTANCE_CLASS` admits, in GiB. */
export function instanceClassMemoryGiB(instanceClass: string): number {
  const [family, size] = instanceClass.split('.');
  const perXlarge = family.startsWith('t4g') || family.startsWith('m') ? 16 : 32; // r* has 8 GiB per vCPU
  if (family === 't4g') {
    const burstable: Record<string, number> = { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, '2xlarge': 32 };
    if (size in burstable) return burstable[size];
  } else if (size === 'large') {
    return perXlarge / 2;
  } else if (size === 'xlarge') {
    return perXlarge;
  } else {
    const n = /^(\d+)xlarge$/.exec(size);
    if (n) return perXlarge * Number(n[1]);
  }
  throw new Error(`database.instanceClass: no memory figure for '${instanceClass}'`);
}

/**
 * PostgreSQL on RDS defaults `max_connections` to LEAST(DBInstanceClassMemory / 9531392, 5000);
 * the parameter group does not override it. DBInstanceClassMemory is a little below the class
 * memory, so this is an upper estimate.
 */
export function defaultMaxConnections(instanceClass: string): number {
  return Math.min(Math.floor((instanceClassMemoryGiB(instanceClass) * GIB) / 9531392), 5000);
}

/**
 * Estimated connections RDS Proxy may open: PostgreSQL on RDS defaults `max_connections` to
 * LEAST(DBInstanceClassMemory / 9531392, 5000), and the proxy takes `maxConnectionsPercent` of it.
 * DBInstanceClassMemory is a little below the class memory, so this is an upper estimate.
 */
export function proxyConnectionCap(database: EnvironmentConfig['database']): number {
  const maxConnections = defaultMaxConnections(database.instanceClass);
  return Math.floor((maxConnections * database.proxy.maxConnectionsPercent) / 100);
}

/**
 * Synth-time check: every API container may hold `api.dbPoolMax` connections, and there are at
 * most `api.reservedConcurrency` containers; together they must fit the proxy's connection cap.
 */
export function assertApiConnectionBudget(config: EnvironmentConfig): void {
  const cap = proxyConnectionCap(config.database);
  const demand = config.api.reservedConcurrency * config.api.dbPoolMax;
  if (demand > cap) {
    throw new Error(
      `Invalid config for environment '${config.name}': api.reservedConcurrency (${config.api.reservedConcurrency}) × api.dbPoolMax (${config.api.dbPoolMax}) = ${demand} connections exceeds the RDS Proxy cap of about ${cap} for database.instanceClass ${config.database.instanceClass} at database.proxy.maxConnectionsPercent ${config.database.proxy.maxConnectionsPercent}%; lower the concurrency or pool size, or raise the instance class or the percentage`,
    );
  }
}
