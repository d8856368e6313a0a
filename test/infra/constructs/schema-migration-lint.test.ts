/**
 * A migration that breaks a lint rule fails `cdk synth`. The stage is built exactly as bin/crm.ts
 * builds it, with the migrations folder swapped for one holding a bad file (the module that reads
 * the folder is wrapped; everything else is real).
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS_DIR } from '../../../lambda/migrate/migrations';
import { checkedMigrations } from '../../../lib/constructs/schema-migration';
import { synthStage, testConfig } from '../fixtures';

let folder: string | undefined;

jest.mock('../../../lambda/migrate/migrations', () => {
  const actual = jest.requireActual('../../../lambda/migrate/migrations');
  return { ...actual, loadMigrations: (dir?: string) => actual.loadMigrations(folder ?? dir) };
});

afterEach(() => {
  if (folder) rmSync(folder, { recursive: true, force: true });
  folder = undefined;
});

/** The real migrations plus one more file. */
function withExtraMigration(sql: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'crm-synth-lint-'));
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'));
  for (const f of files) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
  const next = String(files.length + 1).padStart(4, '0');
  writeFileSync(join(dir, `${next}_bad_change.sql`), sql);
  return dir;
}

it('fails synth naming file, line and rule when a migration breaks a lint rule', () => {
  folder = withExtraMigration(
    '-- renames a column the running release reads\nALTER TABLE crm.deals RENAME COLUMN name TO title;\n',
  );

  expect(() => synthStage(testConfig('dev'))).toThrow(
    /migration lint finding[\s\S]*_bad_change\.sql:2 \[rename\] ALTER TABLE crm\.deals RENAME COLUMN name TO title/,
  );
});

it('accepts the same change with an allow directive and a reason', () => {
  folder = withExtraMigration(
    '-- crm:allow rename no release reads crm.deals.name since 2026.11 (see #77)\nALTER TABLE crm.deals RENAME COLUMN name TO title;\n',
  );

  expect(() =>
    checkedMigrations(jest.requireMock('../../../lambda/migrate/migrations').loadMigrations()),
  ).not.toThrow();
});
