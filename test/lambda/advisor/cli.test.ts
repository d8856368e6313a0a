/** `npm run advisor` (bin/advisor.ts): arguments, exit codes and output. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { main, parseCliArgs } from '../../../bin/advisor';
import { ValidationError } from '../../../lambda/shared/errors';
import { createTestDatabase, type TestDatabase } from '../../helpers/database';

function io(env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  return {
    io: {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env,
    },
    out: () => stdout,
    err: () => stderr,
  };
}

describe('parseCliArgs', () => {
  it('reads the flags', () => {
    expect(
      parseCliArgs(['--database-url', 'postgres://u:p@h:5432/d', '--json', '--instance-class', 'db.r7g.large']),
    ).toEqual({ databaseUrl: 'postgres://u:p@h:5432/d', json: true, help: false, instanceClass: 'db.r7g.large' });
  });

  it('falls back to DATABASE_URL', () => {
    expect(parseCliArgs([], { DATABASE_URL: 'postgres://u:p@h/d' }).databaseUrl).toBe('postgres://u:p@h/d');
  });

  it.each([
    [['--bogus'], /^--bogus: Unknown option '--bogus'$/],
    [['--database-url'], /argument missing/],
    [['--database-url', 'not a url'], /^--database-url: is not a valid URL/],
    [['--database-url', 'mysql://h/d'], /^--database-url: .*must start with postgres:\/\//],
    [['--memory-gib', 'lots'], /^--memory-gib: must be a positive number/],
    [['--instance-class', 'db.z9.huge'], /^--instance-class: unknown instance class/],
    [['report'], /^arguments: Unexpected argument 'report'/],
  ])('rejects %j naming the flag', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(ValidationError);
    expect(() => parseCliArgs(argv)).toThrow(message);
  });

  it('names DATABASE_URL when the bad URL came from the environment', () => {
    expect(() => parseCliArgs([], { DATABASE_URL: 'nope' })).toThrow(/^DATABASE_URL: /);
  });
});

describe('main', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('crm_advisor_cli');
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('prints the readable report and exits 0', async () => {
    const t = io();
    const code = await main(['--database-url', db.url], t.io);
    expect(code).toBe(0);
    expect(t.out()).toContain(`Database advisor report: ${db.name}`);
    expect(t.out()).toMatch(/Summary: \d+ high, \d+ medium, \d+ low, \d+ info/);
    expect(t.err()).toBe('');
  });

  it('prints the JSON report with --json, using DATABASE_URL', async () => {
    const t = io({ DATABASE_URL: db.url });
    const code = await main(['--json', '--memory-gib', '16'], t.io);
    expect(code).toBe(0);
    const report = JSON.parse(t.out());
    expect(report).toMatchObject({ schemaVersion: 1, database: db.name, instance: { memoryGiB: 16 } });
  });

  it('exits 2 with one line on a bad flag, before touching any database', async () => {
    const t = io();
    expect(await main(['--verbose'], t.io)).toBe(2);
    expect(t.err()).toBe("advisor: --verbose: Unknown option '--verbose' (see --help)\n");
    expect(t.out()).toBe('');
  });

  it('exits 1 with one line naming the server when the database is unreachable', async () => {
    const t = io();
    // port 1 on loopback: nothing listens there, the connection is refused at once
    expect(await main(['--database-url', 'postgres://u:p@127.0.0.1:1/crm'], t.io)).toBe(1);
    expect(t.err()).toMatch(/^advisor: cannot connect to 127\.0\.0\.1:1\/crm: .*ECONNREFUSED.*\n$/);
    expect(t.err()).not.toContain(':p@');
  });

  it('sets the process exit code when run as a script', () => {
    const root = join(__dirname, '../../..');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/advisor.ts', '--nope'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual(["advisor: --nope: Unknown option '--nope' (see --help)"]);
  });
});
