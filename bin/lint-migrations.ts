/**
 * npm run lint:migrations — every migration through the project's lint (lambda/migrate/lint.ts)
 * and through squawk (https://squawkhq.com) with the committed .squawk.toml: transactional files
 * with --assume-in-transaction, `-- crm:no-transaction` files without. Findings accepted in
 * released migrations are listed, with their reason, in .squawk-accepted.json.
 *
 * Prints one line per finding (file:line [rule] ...) and exits 1 when there is any, 0 otherwise.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { formatFindings, lintMigrations } from '../lambda/migrate/lint';
import { loadMigrations, MIGRATIONS_DIR, type Migration } from '../lambda/migrate/migrations';

const ROOT = join(__dirname, '..');

export interface SquawkFinding {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly rule: string;
  readonly message: string;
}

const SquawkOutput = z.array(
  z.object({ file: z.string(), line: z.number().int(), rule_name: z.string(), message: z.string() }),
);

const Accepted = z.object({
  accepted: z.array(
    z.object({ file: z.string(), rule: z.string(), count: z.number().int().positive(), reason: z.string().min(20) }),
  ),
});

/** Runs the squawk binary from node_modules over `files`; throws when it cannot run at all. */
function squawk(files: readonly string[], inTransaction: boolean, configPath: string): SquawkFinding[] {
  if (files.length === 0) return [];
  const bin = require.resolve('squawk-cli/js/bin/squawk');
  const args = [
    bin,
    '--config',
    configPath,
    '--reporter',
    'json',
    inTransaction ? '--assume-in-transaction' : '--no-assume-in-transaction',
    ...files,
  ];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: ROOT });
  if (run.error) throw run.error;
  const parsed = SquawkOutput.safeParse(JSON.parse(run.stdout.trim() || '[]'));
  // Exit 1 with findings is normal; anything else (a parse error of the SQL, a bad config) is not.
  if (!parsed.success || (run.status !== 0 && run.status !== 1) || (run.status === 1 && parsed.data.length === 0)) {
    throw new Error(`squawk failed (exit ${run.status}): ${run.stderr.trim() || run.stdout.trim()}`);
  }
  return parsed.data.map((f) => ({
    file: basename(f.file),
    line: f.line + 1,
    rule: f.rule_name,
    message: f.message,
  }));
}

/** Squawk's findings for the migrations, without the accepted ones (which must still be there). */
export function squawkFindings(
  migrations: readonly Pick<Migration, 'file' | 'noTransaction'>[],
  opts: { dir?: string; configPath?: string; acceptedPath?: string } = {},
): SquawkFinding[] {
  const dir = opts.dir ?? MIGRATIONS_DIR;
  const configPath = opts.configPath ?? join(ROOT, '.squawk.toml');
  const accepted = Accepted.parse(
    JSON.parse(readFileSync(opts.acceptedPath ?? join(ROOT, '.squawk-accepted.json'), 'utf8')),
  ).accepted;
  const path = (m: Pick<Migration, 'file'>) => join(dir, m.file);
  const findings = [
    ...squawk(migrations.filter((m) => !m.noTransaction).map(path), true, configPath),
    ...squawk(migrations.filter((m) => m.noTransaction).map(path), false, configPath),
  ];
  // An accepted (file, rule) pair covers exactly its count: one finding more reports them all.
  const groups = new Map<string, SquawkFinding[]>();
  for (const f of findings) groups.set(`${f.file} ${f.rule}`, [...(groups.get(`${f.file} ${f.rule}`) ?? []), f]);
  const left = [...groups.values()].flatMap((group) => {
    const entry = accepted.find((a) => a.file === group[0].file && a.rule === group[0].rule);
    return entry && group.length <= entry.count ? [] : group;
  });
  return left.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

/** Whether squawk-cli is installed (`npm i --no-save squawk-cli@2.66.0`; see docs/migrations.md, "squawk"). */
export function squawkInstalled(): boolean {
  try {
    require.resolve('squawk-cli/js/bin/squawk');
    return true;
  } catch {
    return false;
  }
}

export function main(io: { out: (line: string) => void; err: (line: string) => void }): number {
  try {
    const migrations = loadMigrations();
    const own = lintMigrations(migrations);
    const theirs = squawkInstalled() ? squawkFindings(migrations) : [];
    if (!squawkInstalled())
      io.err(
        'lint:migrations: squawk-cli is not installed, so only the project lint ran (npm i --no-save squawk-cli@2.66.0).',
      );
    if (own.length > 0) io.err(formatFindings(own));
    for (const f of theirs) io.err(`${f.file}:${f.line} [squawk:${f.rule}] ${f.message}`);
    if (own.length + theirs.length > 0) {
      io.err(
        `lint:migrations: ${own.length} lint and ${theirs.length} squawk finding(s); see docs/migrations.md ("The lint").`,
      );
      return 1;
    }
    io.out(`lint:migrations: ${migrations.length} migrations pass the lint and squawk.`);
    return 0;
  } catch (err) {
    io.err(`lint:migrations: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main({ out: (l) => console.log(l), err: (l) => console.error(l) });
}
