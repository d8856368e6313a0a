/**
 * Local-only: serves the CRM app (lambda/api/app.ts) over @hono/node-server against a local
 * PostgreSQL, with dev-token auth. Used by `npm run dev`, the API tests and the benchmark.
 *
 * The app must run with crm_app's rights, as in AWS. Locally we connect as the owner (there is
 * no IAM auth) and every pooled connection switches to crm_app with `SET ROLE` before its first
 * query, so a missing grant fails here just as it would on RDS.
 */
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { type Http2Bindings, type HttpBindings, serve } from '@hono/node-server';
import { Pool } from 'pg';
import { type AppLimits, createApp } from '../../lambda/api/app';
import { optionsFromUrl, poolConfig } from '../../lambda/shared/db';
import { devAuthenticator } from './dev-auth';

/** A pool on `url` whose connections act as crm_app. */
export function createLocalAppPool(url: string, max = 10): Pool {
  const config = poolConfig(optionsFromUrl(url, { max, applicationName: 'crm-api-local', statementTimeoutMs: 10_000 }));
  // `role` as a startup parameter = SET ROLE crm_app before the session's first query.
  const pool = new Pool({ ...config, options: '-c role=crm_app' });
  // An idle connection the server ends (restart, shutdown) is dropped from the pool by pg; without
  // a listener the pool's 'error' event would crash the process instead.
  pool.on('error', () => {});
  return pool;
}

/**
 * A response sent before the request body has fully arrived (a 413 from the body limit, or a
 * 401/403/415 that never read the body) ends the connection: `Connection: close` tells the client
 * not to send its next request on this socket, which the server would otherwise reset while the
 * rest of the unread body is still coming in ("other side closed" on the client's next request).
 */
function fetchClosingUnread(
  fetch: (req: Request, env: HttpBindings) => Response | Promise<Response>,
  req: Request,
  env: HttpBindings | Http2Bindings,
): Response | Promise<Response> {
  const { incoming, outgoing } = env as HttpBindings;
  const result = fetch(req, env as HttpBindings);
  const close = (res: Response): Response => {
    // `complete`: the parser has the whole message, whether or not anyone read the body.
    if (!incoming.complete && !outgoing.headersSent) outgoing.setHeader('Connection', 'close');
    return res;
  };
  return result instanceof Promise ? result.then(close) : close(result);
}

export interface LocalApiServerOptions {
  readonly databaseUrl: string;
  readonly authSecret: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly hostname?: string;
  /** @default 10 */
  readonly poolMax?: number;
  readonly logger?: Logger;
  readonly limits?: AppLimits;
}

export interface LocalApiServer {
  readonly url: string;
  readonly port: number;
  readonly pool: Pool;
  close(): Promise<void>;
}

export async function startLocalApiServer(opts: LocalApiServerOptions): Promise<LocalApiServer> {
  const pool = createLocalAppPool(opts.databaseUrl, opts.poolMax ?? 10);
  const app = createApp({
    pool,
    authenticate: devAuthenticator(opts.authSecret),
    logger: opts.logger ?? new Logger({ serviceName: 'crm-api', logLevel: 'SILENT' }),
    limits: opts.limits,
  });
  const hostname = opts.hostname ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      { fetch: (req, env) => fetchClosingUnread(app.fetch, req, env), port: opts.port ?? 0, hostname },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostname === '0.0.0.0' ? '127.0.0.1' : hostname}:${port}`,
    port,
    pool,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold close() open.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await pool.end();
    },
  };
}
