/**
 * `npm run bench:build`: median wall time of a full `npx cdk synth` (all environments, every
 * compliance check) and of `npm test`, on this machine. Prints the figures and writes them into
 * docs/benchmarks.md between the build-benchmark markers (other sections are kept).
 * BENCH_SYNTH_RUNS (default 3) and BENCH_TEST_RUNS (default 3) set the repetitions.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const DOC = join(ROOT, 'docs', 'benchmarks.md');
const BEGIN = '<!-- build-benchmark:begin -->';
const END = '<!-- build-benchmark:end -->';

function runs(name: string, fallback: number): number {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error(`${name} must be an integer between 1 and 20`);
  return n;
}

function time(label: string, command: string, args: string[], before?: () => void): number {
  before?.();
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) {
    throw new Error(`${label} failed (exit ${result.status}): ${result.stderr.toString().slice(-2000)}`);
  }
  console.log(`  ${label}: ${seconds.toFixed(1)} s`);
  return seconds;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function main(): void {
  const synthRuns = runs('BENCH_SYNTH_RUNS', 3);
  const testRuns = runs('BENCH_TEST_RUNS', 3);
  console.log(`cdk synth x${synthRuns} (cdk.out removed before each run: no cached assets)`);
  const synth = Array.from({ length: synthRuns }, (_, i) =>
    time(`synth #${i + 1}`, 'npx', ['cdk', 'synth', '--quiet'], () =>
      rmSync(join(ROOT, 'cdk.out'), { recursive: true, force: true }),
    ),
  );
  console.log(`npm test x${testRuns}`);
  const tests = Array.from({ length: testRuns }, (_, i) => time(`npm test #${i + 1}`, 'npm', ['test', '--silent']));

  const fmt = (xs: number[]) =>
    `${median(xs).toFixed(1)} s (n=${xs.length}; min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)})`;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
  const section = [
    BEGIN,
    '## Build: synth and test suite',
    '',
    `Measured by \`npm run bench:build\` (test/bench/build.bench.ts) on ${new Date().toISOString().slice(0, 10)}: ${machine}.`,
    '',
    '| What | Median wall time |',
    '| --- | ---: |',
    `| \`npx cdk synth\` (dev + prod, all compliance plugins, fresh cdk.out) | ${fmt(synth)} |`,
    `| \`npm test\` (tsc, Biome, jest with embedded PostgreSQL 18) | ${fmt(tests)} |`,
    END,
  ].join('\n');
  console.log(`\nsynth median ${fmt(synth)}\nnpm test median ${fmt(tests)}`);

  const current = existsSync(DOC)
    ? readFileSync(DOC, 'utf8')
    : "# Benchmarks\n\nFigures measured on this project's development machines by the npm `bench:*` scripts.\n";
  const next = current.includes(BEGIN)
    ? current.replace(new RegExp(`${BEGIN}[\\s\\S]*?${END}`), section)
    : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(DOC, next);
  console.log(`wrote ${DOC}`);
}

main();
