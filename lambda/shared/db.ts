/**
 * The one way this project opens PostgreSQL connections, in Lambda and locally.
 *
 * - TLS: in AWS every connection verifies the server certificate against the RDS CA bundle.
 *   Lambda's Node.js runtime ships that bundle at /var/runtime/ca-cert.pem; `DB_CA_BUNDLE`
 *   overrides the path. Only local connections (an explicit `tls: 'disable'`) skip TLS.
 * - Passwords are resolved per connection attempt (`password` may be a function), so a rotated
 *   secret or a fresh IAM auth token is picked up without a cold start.
 * - Connect timeouts are short: an unreachable database fails fast with a clear message.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Pool, type PoolConfig } from 'pg';

export const DEFAULT_CA_BUNDLE = '/var/runtime/ca-cert.pem';

export type PasswordSource = string | (() => Promise<string>);

export interface DbConnectionOptions {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: PasswordSource;
  /** `verify-full` in AWS; `disable` only for local embedded PostgreSQL. @default 'verify-full' */
  readonly tls?: 'verify-full' | 'disable';
  /** Path of the CA bundle used for verification. @default process.env.DB_CA_BUNDLE ?? DEFAULT_CA_BUNDLE */
  readonly caBundlePath?: string;
  /** @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** Pool size. @default 2 */
  readonly max?: number;
  /** Shown in pg_stat_activity. @default 'crm' */
  readonly applicationName?: string;
  /** Server-side statement_timeout for every session, in ms. @default unset */
  readonly statementTimeoutMs?: number;
  /** Idle time before a pooled connection is closed, in ms. @default 30_000 */
  readonly idleTimeoutMs?: number;
}

const caCache = new Map<string, Buffer>();

function caBundle(path: string): Buffer {
  let ca = caCache.get(path);
  if (!ca) {
    ca = readFileSync(path);
    caCache.set(path, ca);
  }
  return ca;
}

/** pg PoolConfig for the options; exported for tests and for single `Client`s. */
export function poolConfig(opts: DbConnectionOptions): PoolConfig {
  const tls = opts.tls ?? 'verify-full';
  const caPath = opts.caBundlePath ?? process.env.DB_CA_BUNDLE ?? DEFAULT_CA_BUNDLE;
  return {
    host: opts.host,
    port: opts.port,
    database: opts.database,
    user: opts.user,
    password: opts.password,
    ssl:
      tls === 'disable'
        ? false
        : {
            rejectUnauthorized: true,
            ca: caBundle(caPath),
            // SNI takes host names only; an IP address is still checked against the certificate.
            ...(isIP(opts.host) ? {} : { servername: opts.host }),
          },
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
    max: opts.max ?? 2,
    application_name: opts.applicationName ?? 'crm',
    ...(opts.statementTimeoutMs !== undefined ? { statement_timeout: opts.statementTimeoutMs } : {}),
  };
}

export function createPool(opts: DbConnectionOptions): Pool {
  return new Pool(poolConfig(opts));
}

/**
 * Options from a `postgres://user:pass@host:port/db` URL, for local use (`DATABASE_URL`).
 * TLS follows `sslmode`: `require`/`verify-full` verify the certificate, anything else disables TLS.
 */
export function optionsFromUrl(url: string, extra: Partial<DbConnectionOptions> = {}): DbConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('DATABASE_URL is not a valid URL (expected postgres://user:password@host:port/database)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`DATABASE_URL must start with postgres:// (got ${parsed.protocol}//)`);
  }
  const sslmode = parsed.searchParams.get('sslmode');
  return {
    host: decodeURIComponent(parsed.hostname) || 'localhost',
    port: parsed.port ? Number(parsed.port) : 5432,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres',
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    tls: sslmode === 'require' || sslmode === 'verify-full' ? 'verify-full' : 'disable',
    ...extra,
  };
}
