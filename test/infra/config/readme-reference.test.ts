import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENVIRONMENTS } from '../../../lib/config';

/** Dotted paths of every leaf field of a config object. */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

describe('README configuration reference', () => {
  const readme = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
  const fields = [...new Set(Object.values(ENVIRONMENTS).flatMap((c) => leafPaths(c)))];

  it.each(fields)('documents %s', (field) => {
    expect(readme).toContain(`| \`${field}\` |`);
  });
});
