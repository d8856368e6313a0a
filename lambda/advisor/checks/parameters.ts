/**
 * pgtune-style parameter advice for the instance's memory, compared with what is set.
 *
 * Recommendations (RAM = instance memory):
 *   shared_buffers        25 % RAM   (RDS default {DBInstanceClassMemory/32768} 8 kB pages ≈ 25 %)
 *   effective_cache_size  75 % RAM   (a planner hint, allocates nothing)
 *   work_mem              (RAM − shared_buffers) / (max_connections × 3), clamped to 4 MB..1 GB
 *   maintenance_work_mem  RAM / 16, at most 2 GB
 *   random_page_cost      1.1        (RDS storage is SSD: gp3/io2; the default 4 assumes spinning disks)
 *
 * Rule `parameter-<name>`: a memory parameter within parameters.lowFactor of the recommendation
 * (either way) passes; off by mediumFactor or more is `medium`, in between `low`. The severity is
 * capped per parameter: effective_cache_size, maintenance_work_mem and random_page_cost at `low`
 * (they cost performance, not availability); work_mem set too low at `low` (too high risks
 * out-of-memory under many connections: `medium`). When the instance memory is unknown (a
 * local database) every piece of parameter advice is `info`, and `parameters-memory-unknown`
 * lists what is set.
 *
 * The rest of pgtune's set that RDS lets a parameter group change (web/OLTP profile, SSD
 * storage), each rule `parameter-<name>`, `low` (`info` when the instance is unknown: the local
 * settings say nothing about production):
 *   min_wal_size                  ≥ 1 GB    WAL kept for recycling; fewer new segment files
 *   max_wal_size                  ≥ 4 GB    checkpoints spaced by time, not forced by WAL volume
 *   checkpoint_completion_target  ≥ 0.9     checkpoint writes spread over the interval
 *   effective_io_concurrency      ≥ 200     SSD storage serves many concurrent reads (bitmap heap scans, prefetch)
 *   wal_compression               lz4       full-page images compressed: less WAL, cheap CPU (not pgtune;
 *                                           zstd or pglz when the server is built without lz4)
 *   jit                           off       OLTP statements are short; JIT compile time costs more than it saves (not pgtune)
 */
import { CONFIG_FIELDS } from '../config-fields';
import type { Check, CheckContext, CheckResult, Finding, Severity } from '../types';

type Setting = { name: string; setting: string; unit: string | null; enumvals: string[] | null };

const SQL = `
  SELECT name, setting, unit, enumvals FROM pg_settings
   WHERE name IN ('shared_buffers', 'effective_cache_size', 'work_mem', 'maintenance_work_mem',
                  'random_page_cost', 'max_connections', 'min_wal_size', 'max_wal_size',
                  'checkpoint_completion_target', 'effective_io_concurrency', 'wal_compression', 'jit')`;

interface PlainParam {
  readonly name: string;
  /** Whether the current setting (pg_settings.setting, in its unit) already meets the rule. */
  readonly ok: (setting: Setting) => boolean;
  readonly current: (setting: Setting) => string | number;
  /** The value to set; may depend on what the server offers (its enumvals). */
  readonly recommended: string | number | ((setting: Setting) => string | number);
  readonly rule: string;
  readonly field: string;
  readonly note: string;
}

const PGTUNE_RDS: readonly PlainParam[] = [
  {
    name: 'min_wal_size',
    ok: (s) => bytes(s) >= 1024 * 1024 * 1024,
    current: (s) => `${Math.round(bytes(s) / (1024 * 1024))} MB`,
    recommended: 1024,
    rule: 'pgtune (web): at least 1 GB',
    field: CONFIG_FIELDS.minWalSizeMb,
    note: 'WAL segments up to this size are recycled rather than removed and re-created at checkpoints.',
  },
  {
    name: 'max_wal_size',
    ok: (s) => bytes(s) >= 4 * 1024 * 1024 * 1024,
    current: (s) => `${Math.round(bytes(s) / (1024 * 1024))} MB`,
    recommended: 4096,
    rule: 'pgtune (web): at least 4 GB',
    field: CONFIG_FIELDS.maxWalSizeMb,
    note: 'A small max_wal_size forces checkpoints under write load (see checkpoints-requested): more full-page writes and I/O bursts. Costs storage and crash-recovery time.',
  },
  {
    name: 'checkpoint_completion_target',
    ok: (s) => Number(s.setting) >= 0.9,
    current: (s) => Number(s.setting),
    recommended: 0.9,
    rule: 'pgtune: 0.9 (the PostgreSQL 14+ default)',
    field: CONFIG_FIELDS.checkpointCompletionTarget,
    note: 'Spreads checkpoint writes over 90 % of the interval instead of bursting them.',
  },
  {
    name: 'effective_io_concurrency',
    ok: (s) => Number(s.setting) >= 200,
    current: (s) => Number(s.setting),
    recommended: 200,
    rule: 'pgtune (SSD): 200',
    field: CONFIG_FIELDS.effectiveIoConcurrency,
    note: 'EBS SSD volumes (gp3/io2) serve many reads at once; a low value makes bitmap heap scans and prefetching wait on one read at a time.',
  },
  {
    name: 'wal_compression',
    ok: (s) => s.setting !== 'off',
    current: (s) => s.setting,
    // lz4 where the server is built with it (cheapest CPU), else zstd, else the built-in pglz ('on')
    recommended: (s) => ['lz4', 'zstd'].find((v) => s.enumvals?.includes(v)) ?? 'on',
    rule: 'compress full-page images (lz4, zstd or pglz, as the server offers)',
    field: CONFIG_FIELDS.walCompression,
    note: 'Full-page images after each checkpoint are most of the WAL of an update-heavy workload; compressing them cuts WAL volume, replication and backup traffic.',
  },
  {
    name: 'jit',
    ok: (s) => s.setting === 'off',
    current: (s) => s.setting,
    recommended: 'off',
    rule: 'off for OLTP: short statements',
    field: CONFIG_FIELDS.jit,
    note: 'JIT compilation is triggered by cost estimates and can add tens of milliseconds to an otherwise fast CRM query; it helps only long analytical queries.',
  },
];

const MB = 1024 * 1024;
const GB = 1024 * MB;

function bytes(s: Setting): number {
  const n = Number(s.setting);
  switch (s.unit) {
    case '8kB':
      return n * 8192;
    case 'kB':
      return n * 1024;
    case 'MB':
      return n * MB;
    default:
      return n;
  }
}

const mb = (b: number) => Math.round(b / MB);

interface MemoryParam {
  readonly name: string;
  readonly recommendedBytes: number;
  readonly rule: string;
  readonly field: string;
  /** Severity cap when the current value is below / above the recommendation. */
  readonly capLow: Severity;
  readonly capHigh: Severity;
  readonly note: string;
}

const ORDER: Severity[] = ['info', 'low', 'medium', 'high'];
const cap = (s: Severity, max: Severity): Severity => (ORDER.indexOf(s) > ORDER.indexOf(max) ? max : s);

export const parameters: Check = {
  name: 'parameters',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.parameters;
    const { rows } = await ctx.db.query<Setting>(SQL);
    const s = Object.fromEntries(rows.map((r) => [r.name, r])) as Record<string, Setting>;
    const current = {
      sharedBuffers: bytes(s.shared_buffers),
      effectiveCacheSize: bytes(s.effective_cache_size),
      workMem: bytes(s.work_mem),
      maintenanceWorkMem: bytes(s.maintenance_work_mem),
      randomPageCost: Number(s.random_page_cost.setting),
      maxConnections: Number(s.max_connections.setting),
    };
    const findings: Finding[] = [];
    const known = ctx.memoryBytes !== undefined;

    if (Math.abs(current.randomPageCost - 1.1) > 0.05) {
      findings.push({
        id: 'parameter-random_page_cost',
        severity: known ? 'low' : 'info',
        title: `random_page_cost is ${current.randomPageCost}; 1.1 suits SSD storage (gp3/io2)`,
        subject: 'random_page_cost',
        evidence: {
          parameter: 'random_page_cost',
          current: current.randomPageCost,
          recommended: 1.1,
          rule: 'SSD storage: random reads cost about the same as sequential ones',
        },
        action: {
          description: known
            ? 'The default 4 makes the planner avoid index scans that would be faster on SSD.'
            : 'Local database: storage type unknown, for reference only. RDS storage is SSD.',
          config: { field: CONFIG_FIELDS.randomPageCost, value: 1.1 },
        },
      });
    }

    for (const p of PGTUNE_RDS) {
      const setting = s[p.name];
      if (!setting || p.ok(setting)) continue;
      const recommended = typeof p.recommended === 'function' ? p.recommended(setting) : p.recommended;
      findings.push({
        id: `parameter-${p.name}`,
        severity: known ? 'low' : 'info',
        title: `${p.name} is ${p.current(setting)}; ${recommended}${p.name.endsWith('wal_size') ? ' MB' : ''} recommended`,
        subject: p.name,
        evidence: {
          parameter: p.name,
          current: p.current(setting),
          recommended: p.name.endsWith('wal_size') ? `${recommended} MB` : recommended,
          rule: p.rule,
        },
        action: {
          description: known ? p.note : `Local database: for reference only. ${p.note}`,
          config: { field: p.field, value: recommended },
        },
      });
    }

    if (!known) {
      findings.push({
        id: 'parameters-memory-unknown',
        severity: 'info',
        title: 'Instance memory unknown: memory parameters not judged',
        evidence: {
          sharedBuffersBytes: current.sharedBuffers,
          effectiveCacheSizeBytes: current.effectiveCacheSize,
          workMemBytes: current.workMem,
          maintenanceWorkMemBytes: current.maintenanceWorkMem,
          maxConnections: current.maxConnections,
        },
        action: {
          description:
            'Pass the instance memory (--memory-gib / INSTANCE_MEMORY_GIB) or class (--instance-class / INSTANCE_CLASS) to compare with pgtune-style recommendations.',
        },
      });
      return { findings };
    }

    const ram = ctx.memoryBytes as number;
    const sharedBuffers = ram / 4;
    const params: MemoryParam[] = [
      {
        name: 'shared_buffers',
        recommendedBytes: sharedBuffers,
        rule: '25 % of instance memory',
        field: CONFIG_FIELDS.sharedBuffersMb,
        capLow: 'medium',
        capHigh: 'medium',
        note: 'RDS default {DBInstanceClassMemory/32768} (8 kB pages) is 25 %; prefer removing the override. Needs a reboot.',
      },
      {
        name: 'effective_cache_size',
        recommendedBytes: ram * 0.75,
        rule: '75 % of instance memory',
        field: CONFIG_FIELDS.effectiveCacheSizeMb,
        capLow: 'low',
        capHigh: 'low',
        note: 'A planner hint only (nothing is allocated); too low steers plans away from index scans.',
      },
      {
        name: 'work_mem',
        recommendedBytes: Math.min(Math.max((ram - sharedBuffers) / (current.maxConnections * 3), 4 * MB), 1 * GB),
        rule: '(RAM − shared_buffers) / (max_connections × 3), 4 MB..1 GB',
        field: CONFIG_FIELDS.workMemMb,
        capLow: 'low',
        capHigh: 'medium',
        note: 'Per sort/hash node per session: too high risks running out of memory under load. Raise it per role or per query for reports instead.',
      },
      {
        name: 'maintenance_work_mem',
        recommendedBytes: Math.min(ram / 16, 2 * GB),
        rule: 'RAM / 16, at most 2 GB',
        field: CONFIG_FIELDS.maintenanceWorkMemMb,
        capLow: 'low',
        capHigh: 'low',
        note: 'Used by VACUUM and CREATE INDEX; more makes them faster.',
      },
    ];
    const currentOf: Record<string, number> = {
      shared_buffers: current.sharedBuffers,
      effective_cache_size: current.effectiveCacheSize,
      work_mem: current.workMem,
      maintenance_work_mem: current.maintenanceWorkMem,
    };
    for (const p of params) {
      const cur = currentOf[p.name];
      const factor = cur / p.recommendedBytes;
      const off = Math.max(factor, 1 / factor);
      if (off < t.lowFactor) continue;
      const raw: Severity = off >= t.mediumFactor ? 'medium' : 'low';
      const severity = cap(raw, factor < 1 ? p.capLow : p.capHigh);
      findings.push({
        id: `parameter-${p.name}`,
        severity,
        title: `${p.name} is ${mb(cur)} MB; ${mb(p.recommendedBytes)} MB recommended for ${ctx.memoryBytes ? mb(ram) / 1024 : '?'} GiB`,
        subject: p.name,
        evidence: {
          parameter: p.name,
          currentBytes: cur,
          recommendedBytes: Math.round(p.recommendedBytes),
          factor: Math.round(factor * 100) / 100,
          rule: p.rule,
          instanceMemoryBytes: ram,
          instanceClass: ctx.instanceClass ?? null,
        },
        action: { description: p.note, config: { field: p.field, value: mb(p.recommendedBytes) } },
      });
    }
    return { findings };
  },
};
