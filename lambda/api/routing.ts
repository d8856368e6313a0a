/**
 * One definition per endpoint feeds both the router and the OpenAPI document, so the document
 * cannot drift from what is served. Validation happens here, in a fixed order the tests pin:
 * authentication (401) → role (403) → content type (415) → JSON syntax (400) → fields (422).
 * (The body size limit, 413, runs earlier as middleware.)
 *
 * Why not `app.openapi(route, handler)`: the resources are generated from one generic definition
 * (lambda/api/resources/crud.ts); hono's route-typed handlers cannot be typed through that
 * generic layer without casts, and its validators would answer 400/415 before our auth check.
 * We still use @hono/zod-openapi's registry and `createRoute`, so the document comes from the
 * same zod schemas that validate requests.
 */
import { createRoute, type OpenAPIHono, type RouteConfig, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { atLeast, type Role } from './auth';
import type { Actor, AppEnv } from './context';
import { readJson, readQuery } from './http';
import { forbidden, notFound, unauthorized } from './problems';
import { ProblemSchema } from './schemas/common';

type Method = 'get' | 'post' | 'patch' | 'delete' | 'put';

export interface EndpointDef<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  readonly method: Method;
  /** OpenAPI path, e.g. `/v1/companies/{id}`. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly operationId: string;
  /** Minimum role; `public` needs no token. @default 'readonly' */
  readonly access?: Role | 'public';
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  /** Documented request headers (If-Match, Idempotency-Key). */
  readonly headers?: z.ZodObject;
  /** Success responses: status → schema (undefined for no body). */
  readonly ok: Readonly<Record<number, { description: string; schema?: z.ZodType }>>;
  /** Problem statuses this endpoint can answer besides 401/403/500/503. */
  readonly problems?: readonly number[];
}

export interface EndpointInput<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  readonly params: z.infer<P>;
  readonly query: z.infer<Q>;
  readonly body: z.infer<B>;
}

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request (invalid JSON, bad cursor)',
  401: 'Missing or invalid bearer token',
  403: 'The caller’s role does not allow this',
  404: 'No such record',
  409: 'Conflicts with an existing record (existingId names it)',
  412: 'If-Match does not match the current ETag',
  413: 'Request body too large',
  415: 'Request body is not application/json',
  422: 'Invalid fields (errors lists them)',
  428: 'If-Match header required',
  500: 'Unexpected error (quote requestId)',
  503: 'Database busy or unavailable; retry',
};

function toHonoPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

/** Resolves the caller for a request: null → 401. Cached per request by the caller. */
export type ActorSource = (c: Context<AppEnv>) => Promise<Actor | null>;

/** The order methods are listed in `Allow`. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

export class Router {
  /** OpenAPI path → the methods served there, for 405 answers (hono itself only knows 404). */
  private readonly methodsByPath = new Map<string, { readonly pattern: RegExp; readonly methods: Set<string> }>();

  constructor(
    readonly app: OpenAPIHono<AppEnv>,
    private readonly actorOf: ActorSource,
  ) {}

  /** Records that `path` answers `method` (GET implies HEAD: hono serves HEAD from GET routes). */
  noteMethod(method: Method, path: string): void {
    let entry = this.methodsByPath.get(path);
    if (!entry) {
      const pattern = new RegExp(
        `^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[A-Za-z0-9_]+\}/g, '[^/]+')}$`,
      );
      entry = { pattern, methods: new Set() };
      this.methodsByPath.set(path, entry);
    }
    entry.methods.add(method.toUpperCase());
    if (method === 'get') entry.methods.add('HEAD');
  }

  /** The methods a request path answers, in `Allow` order; undefined when no route has this path. */
  allowedMethods(requestPath: string): string[] | undefined {
    const methods = new Set<string>();
    for (const { pattern, methods: m } of this.methodsByPath.values()) {
      if (pattern.test(requestPath)) for (const x of m) methods.add(x);
    }
    if (methods.size === 0) return undefined;
    return METHOD_ORDER.filter((m) => methods.has(m));
  }

  add<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
    def: EndpointDef<P, Q, B>,
    handler: (c: Context<AppEnv>, input: EndpointInput<P, Q, B>) => Promise<Response> | Response,
  ): void {
    const access = def.access ?? 'readonly';
    this.app.openAPIRegistry.registerPath(openApiRoute(def, access));
    this.noteMethod(def.method, def.path);
    this.app.on(def.method.toUpperCase(), toHonoPath(def.path), async (c) => {
      if (access !== 'public') {
        const actor = await this.actorOf(c);
        if (!actor) throw unauthorized();
        c.set('actor', actor);
        if (!atLeast(actor.role, access)) throw forbidden(`This requires the ${access} role or higher.`);
      }
      // A path id that is not a UUID cannot name a record: 404, like any other unknown id.
      let params: unknown;
      if (def.params) {
        const parsed = def.params.safeParse(c.req.param());
        if (!parsed.success) throw notFound();
        params = parsed.data;
      }
      const query = def.query ? readQuery(c, def.query) : undefined;
      const body = def.body ? await readJson(c, def.body) : undefined;
      return handler(c, { params, query, body } as EndpointInput<P, Q, B>);
    });
  }
}

function openApiRoute(def: EndpointDef, access: Role | 'public'): RouteConfig {
  const problemStatuses = new Set<number>([...(def.problems ?? []), 500, 503]);
  if (access !== 'public') {
    problemStatuses.add(401);
    problemStatuses.add(403);
  }
  if (def.params) problemStatuses.add(404);
  if (def.body) for (const s of [400, 413, 415, 422]) problemStatuses.add(s);
  if (def.query) for (const s of [400, 422]) problemStatuses.add(s);
  const responses: RouteConfig['responses'] = {};
  for (const [status, r] of Object.entries(def.ok)) {
    responses[status] = r.schema
      ? { description: r.description, content: { 'application/json': { schema: r.schema } } }
      : { description: r.description };
  }
  for (const status of [...problemStatuses].sort()) {
    responses[String(status)] = {
      description: PROBLEM_DESCRIPTIONS[status] ?? 'Error',
      content: { 'application/problem+json': { schema: ProblemSchema } },
    };
  }
  return createRoute({
    method: def.method,
    path: def.path,
    operationId: def.operationId,
    summary: def.summary,
    ...(def.description ? { description: def.description } : {}),
    tags: [def.tag],
    security: access === 'public' ? [] : [{ bearerAuth: [] }],
    request: {
      ...(def.params ? { params: def.params as unknown as z.ZodObject } : {}),
      ...(def.query ? { query: def.query as unknown as z.ZodObject } : {}),
      ...(def.headers ? { headers: def.headers } : {}),
      ...(def.body ? { body: { required: true, content: { 'application/json': { schema: def.body } } } } : {}),
    },
    responses,
  });
}
