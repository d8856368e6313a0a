/**
 * The typed, validated configuration of one environment. `lib/config/<env>.ts` holds the values;
 * `validateConfig()` runs when the app starts, so a bad value fails synth with a message that
 * names the field and the allowed range. Only `bin/` reads context and `process.env`.
 */
import { z } from 'zod';
import { backupConfigSchema } from './backup-config';
import { instanceClassMemoryGiB } from './connection-budget';
import { advisorConfigSchema, monitoringConfigSchema } from './monitoring-config';

/** Retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const int = (min: number, max: number) =>
  z
    .number({ error: `must be an integer between ${min} and ${max}` })
    .int({ error: `must be an integer between ${min} and ${max}` })
    .min(min, { error: `must be an integer between ${min} and ${max}` })
    .max(max, { error: `must be an integer between ${min} and ${max}` });

const logRetention = z.number().refine((v) => (LOG_RETENTION_DAYS as readonly number[]).includes(v), {
  error: `must be one of the CloudWatch Logs retention values (${LOG_RETENTION_DAYS.join(', ')})`,
});

const email = z.email({ error: 'must be an e-mail address' });

/** A browser origin the API answers CORS requests from: https, or http://localhost for local development. */
const corsOrigin = z
  .string()
  .regex(
    /^(https:\/\/[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?|http:\/\/localhost(:\d{1,5})?)$/,
    {
      error: 'must be an https origin without a path (e.g. https://crm.example.com), or http://localhost[:port]',
    },
  );

const allowedCidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/(3[0-2]|[12]?\d)$/, {
  error: 'must be an IPv4 CIDR such as 203.0.113.0/24',
});

/** Instance classes this project is sized and tested for (Graviton, burstable for dev). */
export const INSTANCE_CLASS =
  /^(t4g\.(micro|small|medium|large|xlarge|2xlarge)|(m7g|m8g|r7g|r8g)\.(large|xlarge|[0-9]*xlarge))$/;

const cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-8])$/, {
  error: 'must be an IPv4 CIDR with a prefix between /16 and /28',
});

export const environmentConfigSchema = z
  .object({
    /** Short environment name; prefixes resource names. */
    name: z.string().regex(/^[a-z][a-z0-9-]{1,15}$/, { error: 'must match ^[a-z][a-z0-9-]{1,15}$' }),
    /** AWS account; `CDK_DEFAULT_ACCOUNT` when omitted. */
    account: z
      .string()
      .regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id' })
      .optional(),
    /** AWS region; `CDK_DEFAULT_REGION` when omitted. */
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { error: 'must be an AWS region such as eu-west-1' })
      .optional(),
    /** Termination protection on the stateful stacks (network, data). */
    terminationProtection: z.boolean(),
    /** Retention of every log group the app creates (Lambda, API access, flow logs, RDS exports). */
    logRetentionDays: logRetention,
    network: z.object({
      cidr,
      azCount: int(2, 3),
      natGateways: int(1, 3),
    }),
    database: z.object({
      instanceClass: z.string().regex(INSTANCE_CLASS, {
        error: 'must be a Graviton class this project supports, e.g. t4g.micro, m7g.large, r7g.xlarge',
      }),
      allocatedStorageGiB: int(20, 65536),
      maxAllocatedStorageGiB: int(21, 65536),
      multiAz: z.boolean(),
      backupRetentionDays: int(7, 35),
      deletionProtection: z.boolean(),
      /** What happens to the instance when it leaves the stack: a final snapshot, or kept as is. */
      removalPolicy: z.enum(['snapshot', 'retain'], { error: "must be 'snapshot' or 'retain'" }),
      port: int(1150, 65535).refine((p) => p !== 5432, { error: 'must not be the default PostgreSQL port 5432' }),
      masterUsername: z
        .string()
        .regex(/^[a-z][a-z0-9_]{2,15}$/, { error: 'must match ^[a-z][a-z0-9_]{2,15}$' })
        .refine((u) => !['postgres', 'admin', 'rdsadmin', 'root', 'crm_app', 'crm_monitor'].includes(u), {
          error:
            'must not be a well-known or reserved user name (postgres, admin, rdsadmin, root, crm_app, crm_monitor)',
        }),
      databaseName: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, { error: 'must match ^[a-z][a-z0-9_]{0,62}$' }),
      monitoringIntervalSeconds: z.union(
        [z.literal(1), z.literal(5), z.literal(10), z.literal(15), z.literal(30), z.literal(60)],
        {
          error: 'must be one of 1, 5, 10, 15, 30, 60',
        },
      ),
      /** `advanced` Database Insights keeps 15 months of Performance Insights data. */
      databaseInsights: z.enum(['standard', 'advanced'], { error: "must be 'standard' or 'advanced'" }),
      secretRotationDays: int(1, 30),
      parameters: z.object({
        logMinDurationStatementMs: int(-1, 3_600_000),
        idleInTransactionSessionTimeoutMs: int(0, 86_400_000),
        statementTimeoutMs: int(0, 86_400_000),
        /** Planner cost of a random page read; 1.1 suits SSD (gp3) storage. */
        randomPageCost: z
          .number({ error: 'must be a number between 1 and 10' })
          .min(1, { error: 'must be a number between 1 and 10' })
          .max(10, { error: 'must be a number between 1 and 10' }),
        /** Memory overrides (MiB); unset keeps RDS's formula defaults for the instance class. */
        sharedBuffersMb: int(16, 1_048_576).optional(),
        effectiveCacheSizeMb: int(16, 4_194_304).optional(),
        workMemMb: int(1, 2_048).optional(),
        maintenanceWorkMemMb: int(16, 8_192).optional(),
        /** WAL and checkpoint overrides (the database advisor suggests pgtune's values); unset keeps RDS's defaults. */
        minWalSizeMb: int(128, 65_536).optional(),
        maxWalSizeMb: int(256, 262_144).optional(),
        checkpointCompletionTarget: z
          .number({ error: 'must be a number between 0.1 and 1' })
          .min(0.1, { error: 'must be a number between 0.1 and 1' })
          .max(1, { error: 'must be a number between 0.1 and 1' })
          .optional(),
        effectiveIoConcurrency: int(1, 1_000).optional(),
        walCompression: z
          .enum(['off', 'on', 'pglz', 'lz4', 'zstd'], { error: "must be one of 'off', 'on', 'pglz', 'lz4', 'zstd'" })
          .optional(),
        /** JIT compilation of queries; off suits short OLTP statements. */
        jit: z.boolean({ error: 'must be true or false' }).optional(),
        /** Statements pg_stat_statements tracks (needs a reboot to apply). */
        pgStatStatementsMax: int(100, 100_000).optional(),
      }),
      proxy: z.object({
        maxConnectionsPercent: int(10, 100),
        maxIdleConnectionsPercent: int(0, 100),
        idleClientTimeoutSeconds: int(60, 28_800),
      }),
      migration: z.object({
        lockTimeoutMs: int(100, 60_000),
        statementTimeoutMs: int(1_000, 840_000),
        snapshotBeforeMigration: z.boolean(),
      }),
    }),
    api: z.object({
      /** Stage-wide API Gateway throttling: steady requests per second and burst. */
      throttling: z.object({
        rateLimit: int(1, 10_000),
        burstLimit: int(1, 5_000),
      }),
      /** WAF rate-based rule: requests per client IP per 5 minutes before blocking. */
      wafRateLimitPer5Min: int(100, 2_000_000_000),
      /** IP allowlist: when non-empty, WAF blocks every other source address. */
      allowedIpCidrs: z.array(allowedCidr).max(100, { error: 'must list at most 100 CIDRs' }),
      /** Browser origins allowed by CORS. */
      corsOrigins: z.array(corsOrigin).min(1, { error: 'must list at least one origin' }),
      /**
       * Largest request body in KiB, enforced by WAF and by the application (413). WAF can inspect
       * at most 64 KiB of an API Gateway request body, so that is the ceiling.
       */
      maxBodyKiB: int(8, 64),
      /** Reserved concurrency of the API function. */
      reservedConcurrency: int(1, 1_000),
      /** Memory of the API function, MiB. */
      memoryMiB: int(128, 10_240),
      /** Database connections per API function container (pg pool max). */
      dbPoolMax: int(1, 20),
      /**
       * Whether this environment sets the account's API Gateway CloudWatch Logs role
       * (AWS::ApiGateway::Account, one per account and region). Exactly one environment per account
       * and region may; the others rely on it. @default true
       */
      manageAccountLoggingRole: z.boolean({ error: 'must be true or false' }).optional(),
      /** Cognito MFA (TOTP). */
      mfa: z.enum(['required', 'optional'], { error: "must be 'required' or 'optional'" }),
    }),
    /** Settings of every Lambda function of the environment. @default { reservedConcurrency: true } */
    lambda: z
      .object({
        /**
         * Reserve each function's concurrency (the figures in the code). `false` reserves none, for an
         * account whose concurrency limit cannot hold them (docs/runbooks/prerequisites.md).
         */
        reservedConcurrency: z.boolean({ error: 'must be true or false' }),
      })
      .optional(),
    backup: backupConfigSchema,
    alarms: z.object({
      emails: z.array(email).max(10, { error: 'must list at most 10 addresses' }),
    }),
    monitoring: monitoringConfigSchema,
    advisor: advisorConfigSchema,
  })
  .superRefine((c, ctx) => {
    const memoryMiB = instanceClassMemoryGiB(c.database.instanceClass) * 1024;
    for (const [field, share] of [
      ['sharedBuffersMb', 0.6],
      ['effectiveCacheSizeMb', 0.9],
    ] as const) {
      const value = c.database.parameters[field];
      if (value !== undefined && value > memoryMiB * share) {
        ctx.addIssue({
          code: 'custom',
          path: ['database', 'parameters', field],
          message: `must be at most ${share * 100}% of the ${c.database.instanceClass} memory (${Math.floor(memoryMiB * share)} MiB)`,
        });
      }
    }
    const wal = c.database.parameters;
    if (wal.minWalSizeMb !== undefined && wal.maxWalSizeMb !== undefined && wal.minWalSizeMb > wal.maxWalSizeMb) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'parameters', 'minWalSizeMb'],
        message: `must be at most database.parameters.maxWalSizeMb (${wal.maxWalSizeMb})`,
      });
    }
    if (c.network.natGateways > c.network.azCount) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'natGateways'],
        message: `must be between 1 and network.azCount (${c.network.azCount})`,
      });
    }
    if (c.database.maxAllocatedStorageGiB < Math.ceil(c.database.allocatedStorageGiB * 1.1)) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'maxAllocatedStorageGiB'],
        message: `must be at least 10% above database.allocatedStorageGiB (>= ${Math.ceil(c.database.allocatedStorageGiB * 1.1)}) for storage autoscaling`,
      });
    }
    if (c.database.proxy.maxIdleConnectionsPercent > c.database.proxy.maxConnectionsPercent) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'proxy', 'maxIdleConnectionsPercent'],
        message: `must be between 0 and database.proxy.maxConnectionsPercent (${c.database.proxy.maxConnectionsPercent})`,
      });
    }
    c.api.corsOrigins.forEach((origin, i) => {
      if (c.name === 'prod' && origin.startsWith('http://')) {
        ctx.addIssue({
          code: 'custom',
          path: ['api', 'corsOrigins', i],
          message: 'must be an https origin in prod (http://localhost is for development only)',
        });
      }
    });
    if (c.api.throttling.burstLimit < Math.min(c.api.throttling.rateLimit, 5_000) / 10) {
      ctx.addIssue({
        code: 'custom',
        path: ['api', 'throttling', 'burstLimit'],
        message: `must be at least a tenth of api.throttling.rateLimit (>= ${Math.ceil(Math.min(c.api.throttling.rateLimit, 5_000) / 10)})`,
      });
    }
    if (c.monitoring.database.freeStorageGiB >= c.database.allocatedStorageGiB) {
      ctx.addIssue({
        code: 'custom',
        path: ['monitoring', 'database', 'freeStorageGiB'],
        message: `must be below database.allocatedStorageGiB (${c.database.allocatedStorageGiB}), or the alarm fires on an empty database`,
      });
    }
    if (INSTANCE_CLASS.test(c.database.instanceClass)) {
      const memoryMiB = instanceClassMemoryGiB(c.database.instanceClass) * 1024;
      if (c.monitoring.database.freeableMemoryMiB >= memoryMiB / 2) {
        ctx.addIssue({
          code: 'custom',
          path: ['monitoring', 'database', 'freeableMemoryMiB'],
          message: `must be below half the memory of database.instanceClass ${c.database.instanceClass} (< ${memoryMiB / 2} MiB)`,
        });
      }
    }
    if (c.database.multiAz && c.network.azCount < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'azCount'],
        message: 'must be at least 2 when database.multiAz is on',
      });
    }
  });

export type EnvironmentConfig = z.infer<typeof environmentConfigSchema>;

/** Thrown when a config fails validation; the message lists every bad field. */
export class InvalidConfigError extends Error {
  constructor(
    readonly environment: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid config for environment '${environment}':\n  - ${problems.join('\n  - ')}`);
    this.name = 'InvalidConfigError';
  }
}

/** Validates a config object; returns it typed or throws `InvalidConfigError` naming each bad field. */
export function validateConfig(envName: string, raw: unknown): EnvironmentConfig {
  const result = environmentConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.join('.') || '(root)';
    const got = valueAt(raw, issue.path);
    return `${path}: ${issue.message}${got === undefined ? ' (missing)' : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new InvalidConfigError(envName, problems);
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}
