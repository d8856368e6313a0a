/**
 * The CRM API Lambda: API Gateway REST API (Lambda proxy integration, Cognito authorizer) →
 * the Hono app of app.ts via `hono/aws-lambda`. Thin: reads configuration, builds the pool
 * once per container, takes the caller's identity from the authorizer's claims.
 *
 * Environment:
 *   DB_PROXY_ENDPOINT        required. RDS Proxy endpoint hostname (TLS verify-full against it).
 *   DB_PORT                  @default 5432
 *   DB_NAME                  @default 'crm'
 *   DB_USER                  @default 'crm_app' (IAM database authentication; the role has DML only)
 *   DB_POOL_MAX              connections per container. @default 2. Reserved concurrency ×
 *                            DB_POOL_MAX must stay below the proxy's connection cap.
 *   DB_STATEMENT_TIMEOUT_MS  server-side statement_timeout; a timeout answers 503. @default 5000
 *   MAX_BODY_BYTES           largest request body; larger → 413. @default 65536 (64 KiB, what WAF can inspect)
 *   DB_CA_BUNDLE             CA bundle for TLS (lambda/shared/db.ts). @default /var/runtime/ca-cert.pem
 *   AWS_REGION               set by Lambda; region of the IAM auth token.
 *   LOG_LEVEL                Powertools log level. @default INFO
 *
 * IAM: rds-db:connect on the proxy's dbuser ARN for DB_USER (the token is signed with the
 * function's role, per connection attempt — tokens live 15 minutes, connections longer).
 * Network: the function's security group reaches only the proxy port.
 */
import { Signer } from '@aws-sdk/rds-signer';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context as LambdaContext } from 'aws-lambda';
import type { Context } from 'hono';
import { handle } from 'hono/aws-lambda';
import type { Pool } from 'pg';
import { createPool, type DbConnectionOptions } from '../shared/db';
import { ConfigError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { createApp, DEFAULT_MAX_BODY_BYTES } from './app';
import { type Identity, identityFromCognitoClaims } from './auth';
import type { AppEnv } from './context';

export interface ApiHandlerConfig {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly poolMax: number;
  readonly statementTimeoutMs: number;
  readonly maxBodyBytes: number;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(name, `must be a positive integer (got '${raw}')`);
  return value;
}

export function configFromEnv(env: NodeJS.ProcessEnv): ApiHandlerConfig {
  const host = env.DB_PROXY_ENDPOINT;
  if (!host) throw new ConfigError('DB_PROXY_ENDPOINT', 'is required (the RDS Proxy endpoint)');
  return {
    host,
    port: positiveInt(env, 'DB_PORT', 5432),
    database: env.DB_NAME || 'crm',
    user: env.DB_USER || 'crm_app',
    poolMax: positiveInt(env, 'DB_POOL_MAX', 2),
    statementTimeoutMs: positiveInt(env, 'DB_STATEMENT_TIMEOUT_MS', 5000),
    maxBodyBytes: positiveInt(env, 'MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES),
  };
}

/** Pool options for the proxy: IAM auth token as the password, fetched per connection attempt. */
export function proxyConnectionOptions(
  config: ApiHandlerConfig,
  signer?: Pick<Signer, 'getAuthToken'>,
): DbConnectionOptions {
  const tokens = signer ?? new Signer({ hostname: config.host, port: config.port, username: config.user });
  return {
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: () => tokens.getAuthToken(),
    tls: 'verify-full',
    max: config.poolMax,
    statementTimeoutMs: config.statementTimeoutMs,
    applicationName: 'crm-api',
  };
}

interface LambdaBindings {
  event: APIGatewayProxyEvent;
  lambdaContext: LambdaContext;
}

function eventOf(c: Context<AppEnv>): APIGatewayProxyEvent | undefined {
  // hono/aws-lambda passes { event, requestContext, lambdaContext } as the env bindings.
  return (c.env as unknown as Partial<LambdaBindings> | undefined)?.event;
}

/** The Cognito authorizer has verified the token; its claims are on the request context. */
export function identityFromEvent(c: Context<AppEnv>): Identity | null {
  const claims = eventOf(c)?.requestContext?.authorizer?.claims as Record<string, unknown> | undefined;
  return identityFromCognitoClaims(claims);
}

export type ApiLambdaHandler = (event: APIGatewayProxyEvent, context: LambdaContext) => Promise<APIGatewayProxyResult>;

/** The handler for a given pool (tests pass a local one). */
export function createApiHandler(pool: Pool, opts: { maxBodyBytes?: number } = {}): ApiLambdaHandler {
  const logger = createLogger('crm-api');
  const app = createApp({
    pool,
    logger,
    authenticate: identityFromEvent,
    requestIdOf: (c) => eventOf(c)?.requestContext?.requestId,
    limits: { maxBodyBytes: opts.maxBodyBytes },
  });
  const honoHandler = handle(app);
  return async (event, context) => {
    logger.addContext(context);
    // hono's v1 event type also lists `version`, which REST API events do not carry; the shapes
    // are otherwise the same (hono picks the v1 processor for REST events).
    return (await honoHandler(event as unknown as Parameters<typeof honoHandler>[0], context)) as APIGatewayProxyResult;
  };
}

let cached: ApiLambdaHandler | undefined;

export const handler: ApiLambdaHandler = async (event, context) => {
  if (!cached) {
    const config = configFromEnv(process.env);
    cached = createApiHandler(createPool(proxyConnectionOptions(config)), { maxBodyBytes: config.maxBodyBytes });
  }
  return cached(event, context);
};
