import { renderReport, renderSummary, renderTable, SUMMARY_MAX_BYTES } from '../../../lambda/advisor/render';
import { DEFAULT_THRESHOLDS } from '../../../lambda/advisor/thresholds';
import type { AdvisorReport, Finding } from '../../../lambda/advisor/types';

function finding(overrides: Partial<Finding> & Pick<Finding, 'id' | 'severity' | 'title'>): Finding {
  return { evidence: {}, action: { description: 'Do the thing.' }, ...overrides };
}

function reportWith(findings: Finding[]): AdvisorReport {
  const summary = { high: 0, medium: 0, low: 0, info: 0 };
  for (const f of findings) summary[f.severity]++;
  return {
    schemaVersion: 1,
    generatedAt: '2026-11-28T06:00:00.000Z',
    database: 'crm',
    serverVersion: '18.4',
    instance: { instanceClass: 'db.m7g.large', memoryGiB: 8 },
    statsSince: null,
    summary,
    metrics: { cacheHitRatio: 0.9987, connections: 12, maxConnections: 100, connectionUsageRatio: 0.1237 },
    findings,
    thresholds: DEFAULT_THRESHOLDS,
  };
}

const sequence = finding({
  id: 'sequence-exhaustion',
  severity: 'high',
  title: 'Sequence public.invoice_number has used 93.1 % of its range',
  subject: 'public.invoice_number',
  evidence: { sequence: 'public.invoice_number', usedRatio: 0.9313, lastValue: 2000000000 },
  action: { description: 'Widen the sequence.', sql: ['ALTER SEQUENCE public.invoice_number AS bigint;'] },
});
const duplicate = finding({
  id: 'duplicate-index',
  severity: 'medium',
  title: 'public.deals_owner_idx_copy duplicates public.deals_owner_idx on public.deals',
  evidence: {
    table: 'public.deals',
    wastedBytes: 65536,
    indexes: [
      { index: 'public.deals_owner_idx', sizeBytes: 65536, indexScans: 12 },
      { index: 'public.deals_owner_idx_copy', sizeBytes: 65536, indexScans: 0 },
    ],
  },
  action: { description: 'Drop the copy.', sql: ['DROP INDEX CONCURRENTLY IF EXISTS public.deals_owner_idx_copy;'] },
});
const workMem = finding({
  id: 'parameter-work_mem',
  severity: 'low',
  title: 'work_mem is 64 MB; 4 MB recommended for 8 GiB',
  action: { description: 'Lower it.', config: { field: 'database.parameters.workMemMb', value: 4 } },
});
const top = finding({ id: 'top-statements-by-total-time', severity: 'info', title: 'Top 1 statements by total time' });

describe('renderReport', () => {
  const text = renderReport(reportWith([sequence, duplicate, workMem, top]));

  it('cuts a long statement cell before its WHERE clause, not through it', () => {
    const statement = `SELECT ${Array.from({ length: 12 }, (_, i) => `column_${i}`).join(', ')} FROM crm.contacts WHERE phone = $1`;
    const lines = renderTable([{ statement, calls: 3 }]);
    expect(lines[2]).toMatch(/^SELECT column_0, .* … WHERE phone = \$1\s+3$/);
    expect(lines[2].length).toBeLessThanOrEqual(70 + 2 + 'calls'.length);
  });

  it("prints an action's alternative after its SQL", () => {
    const widen = finding({
      id: 'sequence-exhaustion',
      severity: 'high',
      title: 'Integer key public.t.id has used 99 % of its range',
      action: {
        description: 'Widen the key column.',
        sql: ['ALTER TABLE public.t ALTER COLUMN id TYPE bigint;'],
        alternative: {
          description: 'Online, for a big table.',
          sql: ['ALTER TABLE public.t ADD COLUMN "id_bigint" bigint;'],
        },
      },
    });
    const lines = renderReport(reportWith([widen])).split('\n');
    const at = lines.indexOf('     ALTER TABLE public.t ALTER COLUMN id TYPE bigint;');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 3)).toEqual([
      '   Alternative: Online, for a big table.',
      '     ALTER TABLE public.t ADD COLUMN "id_bigint" bigint;',
    ]);
  });

  it('starts with the database, the headline counts and the key figures', () => {
    const lines = text.split('\n');
    expect(lines[0]).toBe('Database advisor report: crm (PostgreSQL 18.4)');
    expect(text).toContain('instance db.m7g.large (8 GiB)');
    expect(text).toContain('Summary: 1 high, 1 medium, 1 low, 1 info');
    expect(text).toMatch(/Cache hit ratio\s+99\.87 %/);
    expect(text).toMatch(/Connection usage\s+12\.37 %/);
  });

  it('has one section per severity present, high first', () => {
    const positions = ['HIGH (1)', 'MEDIUM (1)', 'LOW (1)', 'INFO (1)'].map((h) => text.indexOf(`\n${h}\n`));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('shows each finding with its rule id, evidence and concrete action', () => {
    expect(text).toContain('1. [sequence-exhaustion] Sequence public.invoice_number has used 93.1 % of its range');
    expect(text).toMatch(/usedRatio\s+93\.13 %/);
    expect(text).toMatch(/lastValue\s+2,000,000,000/);
    expect(text).toContain('ALTER SEQUENCE public.invoice_number AS bigint;');
    expect(text).toContain('Config: database.parameters.workMemMb = 4');
  });

  it('renders evidence rows as an aligned table', () => {
    const lines = text.split('\n');
    const header = lines.findIndex((l) => /^\s+index\s+sizeBytes\s+indexScans$/.test(l));
    expect(header).toBeGreaterThan(0);
    const rows = lines.slice(header, header + 4);
    // the right edge of each numeric column is the same on every line
    const end = (l: string) => l.length;
    expect(new Set(rows.map(end)).size).toBe(1);
    expect(rows[2]).toMatch(/public\.deals_owner_idx\s+64\.0 kB\s+12$/);
  });

  it('says so when there is nothing to report', () => {
    expect(renderReport(reportWith([]))).toContain('No findings.');
  });
});

describe('renderTable', () => {
  it('cuts long cells and shows null as a dash', () => {
    const lines = renderTable([{ statement: 'x'.repeat(100), calls: null }], '', 20);
    expect(lines[2]).toBe(`${'x'.repeat(19)}…      —`);
  });
});

describe('renderSummary', () => {
  it('lists at most five findings above info, each with its first action, and the links', () => {
    const many = Array.from({ length: 8 }, (_, i) =>
      finding({
        id: 'unused-index',
        severity: 'low',
        title: `Index ${i} unused`,
        action: { description: 'x', sql: [`DROP INDEX i${i};`] },
      }),
    );
    const text = renderSummary(reportWith([sequence, ...many, top]), {
      environment: 'prod',
      links: ['s3://bucket/reports/prod/x.txt'],
    });
    expect(text).toContain('Database advisor (prod): crm');
    expect(text).toContain('Findings: 1 high, 0 medium, 8 low, 1 info');
    expect(text).toContain('Top 5 findings:');
    expect(text).toContain('1. [HIGH] Sequence public.invoice_number');
    expect(text).toContain('   -> ALTER SEQUENCE public.invoice_number AS bigint;');
    expect(text).not.toContain('Index 4 unused');
    expect(text).not.toContain('Top 1 statements');
    expect(text).toContain('s3://bucket/reports/prod/x.txt');
  });

  it('stays under the SNS size limit whatever the findings say', () => {
    const huge = finding({ id: 'x', severity: 'high', title: 'é'.repeat(300_000) });
    const text = renderSummary(reportWith([huge]));
    expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
  });
});
