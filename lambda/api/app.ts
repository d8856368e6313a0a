/**
 * The CRM HTTP application. Built from injected dependencies so the same app runs in Lambda
 * (lambda/api/handler.ts), in the dev server (bin/dev.ts), in the tests and in the benchmark.
 *
 * The pool's connections must already act as `crm_app` (IAM login through RDS Proxy in AWS;
 * `SET ROLE crm_app` on connect locally), so DML-only rights apply everywhere.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Pool } from 'pg';
import type { Identity } from './auth';
import type { AppEnv } from './context';
import { methodNotAllowed, notFound, payloadTooLarge, toProblem } from './problems';
import { registerActivities } from './resources/activities';
import { registerCompanies } from './resources/companies';
import { registerContacts } from './resources/contacts';
import { registerDeals } from './resources/deals';
import { registerHealth } from './resources/health';
import { registerMe } from './resources/me';
import { registerPipelines } from './resources/pipelines';
import { registerUsers } from './resources/users';
import { Router } from './routing';
import { ActorResolver } from './users';

/** @default 256 KiB: far above any CRM record, far below API Gateway's 10 MB. */
/** 64 KiB: the most AWS WAF can inspect in front of API Gateway, so local and deployed limits agree. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export interface AppLimits {
  /** Largest accepted request body in bytes (413 above). @default DEFAULT_MAX_BODY_BYTES */
  readonly maxBodyBytes?: number;
}

export interface AppDeps {
  /** Connections act as crm_app. */
  readonly pool: Pool;
  /** The caller's identity (Cognito claims in AWS, dev tokens locally), or null → 401. */
  readonly authenticate: (c: Context<AppEnv>) => Identity | null | Promise<Identity | null>;
  readonly logger: Logger;
  readonly limits?: AppLimits;
  /** The platform's request id (API Gateway's); a UUID is generated when absent. */
  readonly requestIdOf?: (c: Context<AppEnv>) => string | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const maxBodyBytes = deps.limits?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // Validation is done by the Router (see routing.ts), not by OpenAPIHono's hooks.
  const app = new OpenAPIHono<AppEnv>();

  app.use('*', async (c, next) => {
    const started = performance.now();
    const fromPlatform = deps.requestIdOf?.(c);
    c.set('requestId', fromPlatform && REQUEST_ID.test(fromPlatform) ? fromPlatform : randomUUID());
    // Set before the handler runs: hono puts these on the response it creates (handlers and the
    // error handler may override them). Setting them afterwards would force the Node adapter to
    // rebuild the finished response as a full fetch Response: ~10 % of a GET's CPU (profiled).
    c.header('X-Request-Id', c.get('requestId'));
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', 'no-store');
    await next();
    // Only ids, the route pattern (never the raw path: it can carry ids of people), status, timing.
    deps.logger.info('request', {
      requestId: c.get('requestId'),
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      userId: c.get('actor')?.userId,
    });
  });

  const limitBody = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw payloadTooLarge(maxBodyBytes);
    },
  });
  // GET and HEAD requests carry no body (the fetch Request of both adapters has none), so the
  // limit has nothing to check there; asking for it would make the Node adapter build a full
  // fetch Request for every read (~6 % of a GET's CPU, profiled).
  app.use('*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));

  const problemResponse = (err: unknown, c: Context<AppEnv>): Response => {
    const { problem, unexpected, retryAfter, allow } = toProblem(err, c.get('requestId') ?? randomUUID(), c.req.path);
    if (unexpected) {
      // The error object goes to the log (stack, pg details); the client gets only the requestId.
      deps.logger.error('unhandled error', { requestId: problem.requestId, route: c.req.routePath, error: err });
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
    if (retryAfter) headers['Retry-After'] = String(retryAfter);
    if (allow) headers.Allow = allow.join(', ');
    return c.body(JSON.stringify(problem), problem.status as 500, headers);
  };
  app.onError(problemResponse);

  const actors = new ActorResolver(deps.pool, deps.authenticate);
  const router = new Router(app, (c) => actors.resolve(c));
  // A path that exists answers other methods with 405 and Allow, not 404.
  app.notFound((c) => {
    const allow = router.allowedMethods(c.req.path);
    return problemResponse(allow ? methodNotAllowed(c.req.method, allow) : notFound('No such route.'), c);
  });
  registerHealth(router, deps.pool);
  registerMe(router, deps.pool);
  registerUsers(router, deps.pool, actors);
  registerCompanies(router, deps.pool);
  registerContacts(router, deps.pool);
  registerPipelines(router, deps.pool);
  registerDeals(router, deps.pool);
  registerActivities(router, deps.pool);

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'Cognito ID token in AWS; a token from .crm/dev-tokens.json locally.',
  });
  let document: string | undefined;
  router.noteMethod('get', '/v1/openapi.json');
  app.get('/v1/openapi.json', (c) => {
    document ??= JSON.stringify(
      app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'CRM API',
          version: '1.0.0',
          description: 'Companies, contacts, deals, pipelines and activities. Errors are RFC 9457 problem+json.',
        },
        servers: [{ url: '/' }],
      }),
    );
    return c.body(document, 200, { 'Content-Type': 'application/json' });
  });
  return app;
}
