/**
 * squawk (the real binary from node_modules, with the committed .squawk.toml) over the real
 * migrations, and over planted bad files so the check is shown to fail when it should.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, squawkFindings, squawkInstalled } from '../../../bin/lint-migrations';
import { loadMigrations, MIGRATIONS_DIR } from '../../../lambda/migrate/migrations';
import { migrationDir } from './fixtures';

// Skipped when squawk-cli is absent: its macOS/Windows binary packages are missing from the npm
// registry this project's CI installs from, so it cannot be pinned in package-lock.json (npm ci
// refuses a lock without them). Install it with `npm i --no-save squawk-cli@2.66.0` to run these.
const describeSquawk = squawkInstalled() ? describe : describe.skip;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const dir = (files: Record<string, string>) => {
  const d = migrationDir(files);
  dirs.push(d);
  return d;
};

describeSquawk('squawk over the migrations', () => {
  it('finds nothing in the real migrations beyond what .squawk-accepted.json accepts', () => {
    expect(squawkFindings(loadMigrations())).toEqual([]);
  });

  it('npm run lint:migrations passes on the real migrations', () => {
    const out: string[] = [];
    const err: string[] = [];

    expect(main({ out: (l) => out.push(l), err: (l) => err.push(l) })).toBe(0);
    expect(err).toEqual([]);
    expect(out).toEqual([expect.stringMatching(/^lint:migrations: \d+ migrations pass the lint and squawk\.$/)]);
  });

  it('reports what squawk sees, running no-transaction files as such', () => {
    const d = dir({
      '0001_base.sql': 'CREATE TABLE crm_deals (id bigint PRIMARY KEY, amount bigint);\n',
      '0002_check.sql': 'ALTER TABLE crm_deals ADD CONSTRAINT amount_positive CHECK (amount > 0);\n',
      '0003_index_in_tx.sql': 'SELECT 1;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON crm_deals (amount);\n',
      '0004_index.sql': '-- crm:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS b_idx ON crm_deals (amount);\n',
    });

    const findings = squawkFindings(loadMigrations(d), { dir: d });

    expect(findings.map((f) => `${f.file}:${f.line} ${f.rule}`)).toEqual([
      '0002_check.sql:1 constraint-missing-not-valid',
      '0003_index_in_tx.sql:2 ban-concurrent-index-creation-in-transaction',
    ]);
  });

  it('accepts exactly the listed number of findings in a released file: one more reports them all', () => {
    const d = mkdtempSync(join(tmpdir(), 'crm-squawk-'));
    dirs.push(d);
    copyFileSync(join(MIGRATIONS_DIR, '0002_crm_tables.sql'), join(d, '0002_crm_tables.sql'));
    const migration = loadMigrations(MIGRATIONS_DIR).filter((m) => m.file === '0002_crm_tables.sql');
    const accepted = (count: number) => {
      const path = join(d, `accepted-${count}.json`);
      const reason = 'bounded integer columns, see the real .squawk-accepted.json';
      writeFileSync(
        path,
        JSON.stringify({ accepted: [{ file: '0002_crm_tables.sql', rule: 'prefer-bigint-over-int', count, reason }] }),
      );
      return path;
    };

    expect(squawkFindings(migration, { dir: d, acceptedPath: accepted(10) })).toEqual([]);
    const over = squawkFindings(migration, { dir: d, acceptedPath: accepted(9) });
    expect(over).toHaveLength(10);
    expect(new Set(over.map((f) => f.rule))).toEqual(new Set(['prefer-bigint-over-int']));
  });
});
