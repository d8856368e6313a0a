/**
 * docs/api.md stays true to what is served: its filter table lists exactly each list's query
 * parameters, and its request-body examples show every field each create body takes. Both are
 * read from the OpenAPI document the app serves (the same zod schemas that validate requests).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Pool } from 'pg';
import { createApp } from '../../../lambda/api/app';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is walked as plain JSON
type Json = any;

const docs = readFileSync(join(__dirname, '../../../docs/api.md'), 'utf8');
let openapi: Json;
let pool: Pool;

beforeAll(async () => {
  // No request here touches the database: the pool never connects.
  pool = new Pool({ max: 1 });
  const app = createApp({ pool, authenticate: () => null, logger: new Logger({ logLevel: 'SILENT' }) });
  openapi = await (await app.request('/v1/openapi.json')).json();
});
afterAll(() => pool.end());

/** Parameters every list takes, described once above the table. */
const COMMON = ['limit', 'cursor', 'sort', 'deleted'];

const listPaths = () =>
  Object.keys(openapi.paths).filter((p) => /^\/v1\/[a-z]+$/.test(p) && openapi.paths[p].get?.parameters);

describe('docs/api.md', () => {
  it('lists each list’s filters, q and sorts exactly as served', () => {
    expect(listPaths().length).toBeGreaterThanOrEqual(6);
    for (const path of listPaths()) {
      const row = docs.split('\n').find((l) => l.startsWith(`| \`GET ${path}\``));
      expect({ path, row }).toEqual({ path, row: expect.any(String) });
      const [, , q, filters, sorts] = row!.split('|').map((cell) => cell.trim());
      const params = openapi.paths[path].get.parameters.map((p: Json) => p.name as string);
      const documentedFilters = [...filters.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]);
      expect({ path, filters: documentedFilters.sort() }).toEqual({
        path,
        filters: params.filter((n: string) => !COMMON.includes(n) && n !== 'q').sort(),
      });
      expect({ path, q: q !== '—' }).toEqual({ path, q: params.includes('q') });
      const sortParam = openapi.paths[path].get.parameters.find((p: Json) => p.name === 'sort');
      if (sortParam) {
        const served = (sortParam.schema.enum as string[]).filter((s) => !s.startsWith('-'));
        const documented = [...new Set([...sorts.matchAll(/`-?([A-Za-z]+)`/g)].map((m) => m[1]))];
        expect({ path, sorts: documented.sort() }).toEqual({ path, sorts: served.sort() });
      }
    }
  });

  it('shows every field of every create body', () => {
    const schemas = openapi.components.schemas;
    let checked = 0;
    for (const [path, ops] of Object.entries<Json>(openapi.paths)) {
      const ref: string | undefined = ops.post?.requestBody?.content?.['application/json']?.schema?.$ref;
      if (!ref || path.endsWith('/restore') || path.endsWith('/stages')) continue;
      const start = docs.indexOf(`// POST ${path} `);
      expect({ path, documented: start >= 0 }).toEqual({ path, documented: true });
      const example = docs.slice(start, docs.indexOf('\n// ', start + 1));
      for (const field of Object.keys(schemas[ref.split('/').pop()!].properties)) {
        expect({ path, field, shown: example.includes(`"${field}":`) }).toEqual({ path, field, shown: true });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });
});
