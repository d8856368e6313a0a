/**
 * Text renderings of a report: `renderReport` (the full readable report: `npm run advisor`, and
 * the .txt in S3) and `renderSummary` (the short SNS message). Evidence is formatted by key
 * suffix: `…Bytes` as sizes, `…Ratio` as percentages, `…Ms` / `…Seconds` as durations.
 */
import { shortenKeepingWhere } from './statement-text';
import type { AdvisorMetrics, AdvisorReport, EvidenceRow, EvidenceScalar, Finding } from './types';
import { SEVERITIES } from './types';

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

export function formatValue(key: string, value: EvidenceScalar): string {
  if (value === null) return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value;
  if (/Bytes$/.test(key)) return formatBytes(value);
  if (/Ratio$/.test(key)) return `${(value * 100).toFixed(2)} %`;
  if (/Ms$/.test(key)) return `${value.toFixed(value >= 100 ? 0 : 2)} ms`;
  if (/Seconds$/.test(key)) return `${value.toFixed(1)} s`;
  return Number.isInteger(value) ? value.toLocaleString('en-US') : String(Math.round(value * 100) / 100);
}

function isNumeric(key: string, rows: readonly EvidenceRow[]): boolean {
  return rows.every((r) => r[key] === null || typeof r[key] === 'number');
}

/** An aligned text table; numbers right-aligned, long cells cut to `maxCell` characters. */
export function renderTable(rows: readonly EvidenceRow[], indent = '', maxCell = 70): string[] {
  if (rows.length === 0) return [`${indent}(none)`];
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) =>
    keys.map((k) => {
      const s = formatValue(k, r[k] ?? null);
      if (s.length <= maxCell) return s;
      // statement text keeps its WHERE clause: that is the part that says which index is missing
      return /^statement/.test(k) ? shortenKeepingWhere(s, maxCell) : `${s.slice(0, maxCell - 1)}…`;
    }),
  );
  const widths = keys.map((k, c) => Math.max(k.length, ...cells.map((row) => row[c].length)));
  const numeric = keys.map((k) => isNumeric(k, rows));
  const line = (vals: string[]) =>
    `${indent}${vals.map((v, c) => (numeric[c] ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ')}`.trimEnd();
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
}

function renderFinding(f: Finding, n: number): string[] {
  const out = [`${n}. [${f.id}] ${f.title}`];
  const scalars = Object.entries(f.evidence).filter(([, v]) => !Array.isArray(v)) as [string, EvidenceScalar][];
  const tables = Object.entries(f.evidence).filter(([, v]) => Array.isArray(v)) as [string, EvidenceRow[]][];
  const width = Math.max(0, ...scalars.map(([k]) => k.length));
  for (const [k, v] of scalars) out.push(`     ${k.padEnd(width)}  ${formatValue(k, v)}`);
  for (const [k, rows] of tables) {
    out.push(`     ${k}:`);
    out.push(...renderTable(rows, '       '));
  }
  out.push(`   Action: ${f.action.description}`);
  for (const sql of f.action.sql ?? []) out.push(`     ${sql}`);
  if (f.action.config) out.push(`   Config: ${f.action.config.field} = ${f.action.config.value}`);
  if (f.action.alternative) {
    out.push(`   Alternative: ${f.action.alternative.description}`);
    for (const sql of f.action.alternative.sql) out.push(`     ${sql}`);
  }
  return out;
}

const METRIC_LABELS: [keyof AdvisorMetrics, string][] = [
  ['cacheHitRatio', 'Cache hit ratio'],
  ['connectionUsageRatio', 'Connection usage'],
  ['connections', 'Connections (instance)'],
  ['maxConnections', 'max_connections'],
  ['longRunningQueries', 'Long-running queries'],
  ['idleInTransactionSessions', 'Idle-in-transaction sessions'],
  ['maxDeadTupleRatio', 'Max dead-tuple ratio'],
  ['deadTuples', 'Dead tuples'],
  ['estimatedBloatBytes', 'Estimated bloat'],
  ['unusedIndexes', 'Unused indexes'],
  ['unusedIndexBytes', 'Unused index size'],
  ['duplicateIndexes', 'Duplicate indexes'],
  ['seqScanHeavyTables', 'Seq-scan-heavy tables'],
  ['tablesNeedingVacuum', 'Tables needing vacuum'],
  ['tablesNeedingAnalyze', 'Tables needing analyze'],
  ['maxSequenceUsageRatio', 'Max sequence usage'],
  ['xidWraparoundRatio', 'XID wraparound progress'],
  ['databaseSizeBytes', 'Database size'],
  ['statementsTracked', 'Statements tracked'],
  ['statementDeallocations', 'pg_stat_statements deallocations'],
  ['invalidIndexes', 'INVALID indexes'],
  ['foreignKeysWithoutIndex', 'Foreign keys without index'],
  ['blockedSessions', 'Blocked sessions'],
  ['inactiveReplicationSlots', 'Inactive replication slots'],
  ['replicationSlotRetainedWalBytes', 'WAL held by inactive slots'],
  ['tempFileBytes', 'Temp files written'],
  ['checkpointsRequestedRatio', 'Checkpoints requested'],
  ['statisticsAgeSeconds', 'Statistics age'],
];

function summaryLine(report: AdvisorReport): string {
  return SEVERITIES.map((s) => `${report.summary[s]} ${s}`).join(', ');
}

export function renderReport(report: AdvisorReport): string {
  const instance = report.instance.instanceClass
    ? `${report.instance.instanceClass}${report.instance.memoryGiB ? ` (${report.instance.memoryGiB} GiB)` : ''}`
    : report.instance.memoryGiB
      ? `${report.instance.memoryGiB} GiB`
      : 'unknown (local)';
  const out: string[] = [
    `Database advisor report: ${report.database} (PostgreSQL ${report.serverVersion})`,
    `Generated ${report.generatedAt}; instance ${instance}; statistics since ${report.statsSince ?? 'the cluster was created'}`,
    '',
    `Summary: ${summaryLine(report)}`,
    '',
    'Key figures',
  ];
  const present = METRIC_LABELS.filter(([k]) => report.metrics[k] !== undefined);
  const width = Math.max(...present.map(([, l]) => l.length));
  for (const [k, label] of present) out.push(`  ${label.padEnd(width)}  ${formatValue(k, report.metrics[k] ?? null)}`);
  for (const severity of SEVERITIES) {
    const list = report.findings.filter((f) => f.severity === severity);
    if (list.length === 0) continue;
    const heading = `${severity.toUpperCase()} (${list.length})`;
    out.push('', heading, '='.repeat(heading.length));
    list.forEach((f, i) => {
      if (i > 0) out.push('');
      out.push(...renderFinding(f, i + 1));
    });
  }
  if (report.findings.length === 0) out.push('', 'No findings.');
  return `${out.join('\n')}\n`;
}

/** SNS's hard limit is 256 KiB; stay well under it. */
export const SUMMARY_MAX_BYTES = 200 * 1024;

export interface SummaryOptions {
  /** Findings listed (worst first, info never). @default 5 */
  readonly top?: number;
  /** Where the full report is, e.g. S3 URIs. */
  readonly links?: readonly string[];
  readonly environment?: string;
}

/** The short notification: counts, key figures, the top findings with their action, and links. */
export function renderSummary(report: AdvisorReport, opts: SummaryOptions = {}): string {
  const top = report.findings.filter((f) => f.severity !== 'info').slice(0, opts.top ?? 5);
  const m = report.metrics;
  const out = [
    `Database advisor${opts.environment ? ` (${opts.environment})` : ''}: ${report.database}, ${report.generatedAt}`,
    `Findings: ${summaryLine(report)}`,
    [
      `cache hit ${formatValue('cacheHitRatio', m.cacheHitRatio ?? null)}`,
      `connections ${m.connections ?? '—'}/${m.maxConnections ?? '—'}`,
      `max dead-tuple ratio ${formatValue('maxDeadTupleRatio', m.maxDeadTupleRatio ?? null)}`,
    ].join('; '),
    '',
    top.length ? `Top ${top.length} findings:` : 'No findings above info.',
  ];
  top.forEach((f, i) => {
    out.push(`${i + 1}. [${f.severity.toUpperCase()}] ${f.title}`);
    const firstSql = f.action.sql?.[0];
    if (firstSql) out.push(`   -> ${firstSql.length > 300 ? `${firstSql.slice(0, 299)}…` : firstSql}`);
    else if (f.action.config) out.push(`   -> set ${f.action.config.field} = ${f.action.config.value}`);
  });
  if (opts.links?.length) out.push('', 'Full report:', ...opts.links.map((l) => `  ${l}`));
  let text = `${out.join('\n')}\n`;
  // Titles are short and bounded, but never let a notification fail on size.
  while (Buffer.byteLength(text, 'utf8') > SUMMARY_MAX_BYTES)
    text = `${text.slice(0, Math.floor(text.length * 0.9))}…\n`;
  return text;
}
