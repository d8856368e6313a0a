import { ENVIRONMENTS, InvalidConfigError, loadConfigs, validateConfig } from '../../../lib/config';

// biome-ignore lint/suspicious/noExplicitAny: tests poke arbitrary (also wrongly typed) values into the config
type Loose = Record<string, any>;

function withChange(name: 'dev' | 'prod', change: (c: Loose) => void): unknown {
  const copy = structuredClone(ENVIRONMENTS[name]) as Loose;
  change(copy);
  return copy;
}

describe('environment config', () => {
  it('accepts the shipped dev and prod configs', () => {
    expect(loadConfigs().map((c) => c.name)).toEqual(['dev', 'prod']);
  });

  it('selects one environment by name', () => {
    expect(loadConfigs('prod').map((c) => c.name)).toEqual(['prod']);
  });

  it('rejects an unknown environment name and lists the known ones', () => {
    expect(() => loadConfigs('staging')).toThrow(/Unknown environment 'staging'.*dev, prod/);
  });

  it('keeps dev cheap and prod hardened', () => {
    const { dev, prod } = ENVIRONMENTS;
    expect(dev.database.multiAz).toBe(false);
    expect(dev.network.natGateways).toBe(1);
    expect(prod.database.multiAz).toBe(true);
    expect(prod.database.deletionProtection).toBe(true);
    expect(prod.terminationProtection).toBe(true);
  });

  const bad: [string, (c: Loose) => void, RegExp][] = [
    [
      'backup retention below 7',
      (c) => (c.database.backupRetentionDays = 3),
      /database\.backupRetentionDays: must be an integer between 7 and 35 \(got 3\)/,
    ],
    [
      'backup retention above 35',
      (c) => (c.database.backupRetentionDays = 36),
      /database\.backupRetentionDays: .*between 7 and 35/,
    ],
    [
      'the default PostgreSQL port',
      (c) => (c.database.port = 5432),
      /database\.port: must not be the default PostgreSQL port/,
    ],
    ['a port out of range', (c) => (c.database.port = 80), /database\.port: must be an integer between 1150 and 65535/],
    [
      'master user postgres',
      (c) => (c.database.masterUsername = 'postgres'),
      /database\.masterUsername: must not be a well-known/,
    ],
    ['master user admin', (c) => (c.database.masterUsername = 'admin'), /database\.masterUsername/],
    [
      'more NAT gateways than AZs',
      (c) => (c.network.natGateways = 3),
      /network\.natGateways: must be between 1 and network\.azCount \(2\)/,
    ],
    ['one AZ', (c) => (c.network.azCount = 1), /network\.azCount: must be an integer between 2 and 3/],
    [
      'max storage not above allocated',
      (c) => (c.database.maxAllocatedStorageGiB = 20),
      /database\.maxAllocatedStorageGiB: must be at least 10% above/,
    ],
    [
      'an unsupported log retention',
      (c) => (c.logRetentionDays = 10),
      /logRetentionDays: must be one of the CloudWatch Logs retention values/,
    ],
    [
      'an unknown instance class',
      (c) => (c.database.instanceClass = 'x1e.32xlarge'),
      /database\.instanceClass: must be a Graviton class/,
    ],
    [
      'a malformed alarm e-mail',
      (c) => (c.alarms.emails = ['not-an-email']),
      /alarms\.emails\.0: must be an e-mail address/,
    ],
    [
      'a rotation longer than 30 days',
      (c) => (c.database.secretRotationDays = 90),
      /database\.secretRotationDays: must be an integer between 1 and 30/,
    ],
    [
      'a fractional proxy cap',
      (c) => (c.database.proxy.maxConnectionsPercent = 50.5),
      /database\.proxy\.maxConnectionsPercent: must be an integer/,
    ],
    [
      'idle above max proxy connections',
      (c) => (c.database.proxy.maxIdleConnectionsPercent = 90),
      /maxIdleConnectionsPercent: must be between 0 and/,
    ],
    [
      'a non-boolean lambda.reservedConcurrency',
      (c) => (c.lambda = { reservedConcurrency: 'no' }),
      /lambda\.reservedConcurrency: must be true or false \(got "no"\)/,
    ],
    [
      'a non-boolean api.manageAccountLoggingRole',
      (c) => (c.api.manageAccountLoggingRole = 1),
      /api\.manageAccountLoggingRole: must be true or false \(got 1\)/,
    ],
    ['a bad account id', (c) => (c.account = '1234'), /account: must be a 12-digit AWS account id/],
    [
      'a bad removal policy',
      (c) => (c.database.removalPolicy = 'destroy'),
      /database\.removalPolicy: must be 'snapshot' or 'retain'/,
    ],
    [
      'an API rate limit of zero',
      (c) => (c.api.throttling.rateLimit = 0),
      /api\.throttling\.rateLimit: must be an integer between 1 and 10000/,
    ],
    [
      'an API burst far below the rate',
      (c) => {
        c.api.throttling.rateLimit = 1000;
        c.api.throttling.burstLimit = 10;
      },
      /api\.throttling\.burstLimit: must be at least a tenth of api\.throttling\.rateLimit/,
    ],
    [
      'a WAF rate limit below 100',
      (c) => (c.api.wafRateLimitPer5Min = 50),
      /api\.wafRateLimitPer5Min: must be an integer between 100 and 2000000000/,
    ],
    [
      'a WAF rate limit above 2e9',
      (c) => (c.api.wafRateLimitPer5Min = 3_000_000_000),
      /api\.wafRateLimitPer5Min: must be an integer between 100 and 2000000000/,
    ],
    [
      'a malformed allowlist entry',
      (c) => (c.api.allowedIpCidrs = ['10.0.0.1']),
      /api\.allowedIpCidrs\.0: must be an IPv4 CIDR/,
    ],
    [
      'a CORS origin over plain http',
      (c) => (c.api.corsOrigins = ['http://crm.example.com']),
      /api\.corsOrigins\.0: must be an https origin/,
    ],
    ['a CORS origin with a path', (c) => (c.api.corsOrigins = ['https://crm.example.com/app']), /api\.corsOrigins\.0/],
    ['no CORS origin', (c) => (c.api.corsOrigins = []), /api\.corsOrigins: must list at least one origin/],
    [
      'a body limit WAF cannot inspect',
      (c) => (c.api.maxBodyKiB = 256),
      /api\.maxBodyKiB: must be an integer between 8 and 64/,
    ],
    [
      'zero reserved concurrency',
      (c) => (c.api.reservedConcurrency = 0),
      /api\.reservedConcurrency: must be an integer between 1 and 1000/,
    ],
    ['too little memory', (c) => (c.api.memoryMiB = 64), /api\.memoryMiB: must be an integer between 128 and 10240/],
    ['a pool of 50', (c) => (c.api.dbPoolMax = 50), /api\.dbPoolMax: must be an integer between 1 and 20/],
    ['an unknown MFA mode', (c) => (c.api.mfa = 'off'), /api\.mfa: must be 'required' or 'optional'/],
    ['a missing field', (c) => delete c.database.port, /database\.port: .*\(missing\)/],
    ['a wrongly typed field', (c) => (c.database.multiAz = 'yes'), /database\.multiAz/],
    [
      'a 5-field cron',
      (c) => (c.backup.snapshotSchedule = 'cron(0 3 * * ?)'),
      /backup\.snapshotSchedule: must be an EventBridge Scheduler cron expression with 6 fields/,
    ],
    [
      'a bad time zone',
      (c) => (c.backup.timeZone = 'Mars/Olympus Mons'),
      /backup\.timeZone: must be an IANA time zone/,
    ],
    ['zero snapshots kept', (c) => (c.backup.minKeep = 0), /backup\.minKeep: must be an integer between 1 and 100/],
    [
      'a restore timeout under 30 minutes',
      (c) => (c.backup.restoreTimeoutMinutes = 5),
      /backup\.restoreTimeoutMinutes: must be an integer between 30 and 720/,
    ],
    [
      'the aws/rds alias as copy key',
      (c) => (c.backup.crossRegionCopy = { region: 'eu-central-1', kmsKeyArn: 'alias/aws/rds' }),
      /backup\.crossRegionCopy\.kmsKeyArn: must be the ARN of a customer-managed KMS key/,
    ],
    [
      'a copy key in another region',
      (c) =>
        (c.backup.crossRegionCopy = {
          region: 'eu-central-1',
          kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        }),
      /backup\.crossRegionCopy\.kmsKeyArn: must be a key in crossRegionCopy\.region \(eu-central-1\), got one in us-east-1/,
    ],
    [
      'a DB CPU threshold above 100 %',
      (c) => (c.monitoring.database.cpuPercent = 120),
      /monitoring\.database\.cpuPercent: must be an integer between 1 and 100 \(got 120\)/,
    ],
    [
      'a free-storage alarm at or above the allocated storage',
      (c) => (c.monitoring.database.freeStorageGiB = 20),
      /monitoring\.database\.freeStorageGiB: must be below database\.allocatedStorageGiB \(20\)/,
    ],
    [
      'a free-storage share of 100 %',
      (c) => (c.monitoring.database.freeStoragePercent = 100),
      /monitoring\.database\.freeStoragePercent: must be an integer between 1 and 99/,
    ],
    [
      'a freeable-memory alarm above half the instance memory',
      (c) => (c.monitoring.database.freeableMemoryMiB = 800),
      /monitoring\.database\.freeableMemoryMiB: must be below half the memory of database\.instanceClass t4g\.micro \(< 512 MiB\)/,
    ],
    [
      'a connections share of zero',
      (c) => (c.monitoring.database.connectionsPercentOfMax = 0),
      /monitoring\.database\.connectionsPercentOfMax: must be an integer between 1 and 100/,
    ],
    [
      'a fractional read latency',
      (c) => (c.monitoring.database.readLatencyMs = 2.5),
      /monitoring\.database\.readLatencyMs: must be an integer between 1 and 10000/,
    ],
    [
      'a write latency given as a string',
      (c) => (c.monitoring.database.writeLatencyMs = '20'),
      /monitoring\.database\.writeLatencyMs: must be an integer between 1 and 10000 \(got "20"\)/,
    ],
    [
      'a disk queue depth of zero',
      (c) => (c.monitoring.database.diskQueueDepth = 0),
      /monitoring\.database\.diskQueueDepth: must be an integer between 1 and 1000/,
    ],
    [
      'negative proxy client connections',
      (c) => (c.monitoring.proxy.clientConnections = -1),
      /monitoring\.proxy\.clientConnections: must be an integer between 1 and 100000/,
    ],
    [
      'a missing proxy borrow latency',
      (c) => delete c.monitoring.proxy.borrowLatencyMs,
      /monitoring\.proxy\.borrowLatencyMs: must be an integer between 1 and 60000 \(missing\)/,
    ],
    [
      'an API 5XX rate above 100 %',
      (c) => (c.monitoring.api.serverErrorRatePercent = 150),
      /monitoring\.api\.serverErrorRatePercent: must be a number between 0\.1 and 100/,
    ],
    [
      'an API p99 beyond the integration timeout',
      (c) => (c.monitoring.api.latencyP99Ms = 30_000),
      /monitoring\.api\.latencyP99Ms: must be an integer between 50 and 29000/,
    ],
    [
      'a Lambda duration share above 100 %',
      (c) => (c.monitoring.lambda.durationPercentOfTimeout = 110),
      /monitoring\.lambda\.durationPercentOfTimeout: must be an integer between 10 and 100/,
    ],
    [
      'a WAF blocked-request threshold of zero',
      (c) => (c.monitoring.waf.blockedRequestsPer5Min = 0),
      /monitoring\.waf\.blockedRequestsPer5Min: must be an integer between 1 and 2000000000/,
    ],
    [
      'a rate expression as the advisor schedule',
      (c) => (c.advisor.schedule = 'rate(7 days)'),
      /advisor\.schedule: must be an EventBridge Scheduler cron expression/,
    ],
    ['a bad advisor time zone', (c) => (c.advisor.timeZone = 'CET+1'), /advisor\.timeZone: must be an IANA time zone/],
    [
      'an advisor report retention below a week',
      (c) => (c.advisor.reportRetentionDays = 3),
      /advisor\.reportRetentionDays: must be an integer between 7 and 3650 \(got 3\)/,
    ],
    [
      'a random_page_cost below 1',
      (c) => (c.database.parameters.randomPageCost = 0.5),
      /database\.parameters\.randomPageCost: must be a number between 1 and 10/,
    ],
    [
      'shared_buffers above 60 % of memory',
      (c) => (c.database.parameters.sharedBuffersMb = 800),
      /database\.parameters\.sharedBuffersMb: must be at most 60% of the t4g\.micro memory \(614 MiB\)/,
    ],
    [
      'a fractional work_mem',
      (c) => (c.database.parameters.workMemMb = 4.5),
      /database\.parameters\.workMemMb: must be an integer between 1 and 2048/,
    ],
    [
      'a min_wal_size above max_wal_size',
      (c) => {
        c.database.parameters.minWalSizeMb = 4096;
        c.database.parameters.maxWalSizeMb = 2048;
      },
      /database\.parameters\.minWalSizeMb: must be at most database\.parameters\.maxWalSizeMb \(2048\)/,
    ],
    [
      'a checkpoint_completion_target above 1',
      (c) => (c.database.parameters.checkpointCompletionTarget = 1.5),
      /database\.parameters\.checkpointCompletionTarget: must be a number between 0\.1 and 1/,
    ],
    [
      'an unknown wal_compression method',
      (c) => (c.database.parameters.walCompression = 'gzip' as never),
      /database\.parameters\.walCompression: must be one of 'off', 'on', 'pglz', 'lz4', 'zstd'/,
    ],
    [
      'jit as a string',
      (c) => (c.database.parameters.jit = 'off' as never),
      /database\.parameters\.jit: must be true or false/,
    ],
    [
      'a pg_stat_statements.max below its minimum',
      (c) => (c.database.parameters.pgStatStatementsMax = 50),
      /database\.parameters\.pgStatStatementsMax: must be an integer between 100 and 100000/,
    ],
  ];

  it.each(bad)('rejects %s with a message naming the field', (_label, change, message) => {
    const raw = withChange('dev', change);
    expect(() => validateConfig('dev', raw)).toThrow(InvalidConfigError);
    expect(() => validateConfig('dev', raw)).toThrow(message);
  });

  it('requires MFA and https-only CORS origins in prod', () => {
    expect(ENVIRONMENTS.prod.api.mfa).toBe('required');
    expect(ENVIRONMENTS.dev.api.mfa).toBe('optional');
    expect(ENVIRONMENTS.prod.api.corsOrigins.every((o) => o.startsWith('https://'))).toBe(true);
    const raw = withChange('prod', (c) => c.api.corsOrigins.push('http://localhost:3000'));
    expect(() => validateConfig('prod', raw)).toThrow(/api\.corsOrigins\.1: must be an https origin in prod/);
  });

  it('reports every bad field at once', () => {
    const raw = withChange('prod', (c) => {
      c.database.port = 5432;
      c.database.backupRetentionDays = 1;
    });
    try {
      validateConfig('prod', raw);
      throw new Error('expected validation to fail');
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidConfigError);
      expect((err as InvalidConfigError).problems).toHaveLength(2);
    }
  });
});
