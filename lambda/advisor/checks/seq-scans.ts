/**
 * Rule `seq-scan-heavy-table` (missing-index candidate): a table with at least
 * seqScans.minLiveRows rows (pg_class.reltuples, which survives a statistics reset, or
 * n_live_tup if higher), scanned sequentially at least minSeqScans times, with sequential scans
 * at least minSeqShare of all its scans. `low`; `medium` once seq_tup_read reaches
 * mediumTupRead. When pg_stat_statements is available the statements that mention the table
 * are listed as the likely culprits (normalised text only), the columns their WHERE clauses
 * filter the table on are named, and a parallel scan counts once: pg_stat_user_tables.seq_scan
 * counts the leader and every worker, so the workers those statements launched
 * (parallel_workers_launched, PostgreSQL 18) are taken off.
 */
import { normaliseStatement } from '../normalise';
import { NOT_ADVISOR_SQL } from '../sql-marker';
import { shownStatement } from '../statement-text';
import type { Check, CheckContext, CheckResult, EvidenceRow, Finding } from '../types';

type Row = {
  table_name: string;
  relname: string;
  seq_scan: string;
  seq_tup_read: string;
  idx_scan: string;
  live_rows: string;
  size_bytes: string;
  columns: string[];
  indexed_leading: string[];
};

const SQL = `
  SELECT format('%I.%I', s.schemaname, s.relname) AS table_name, s.relname,
         s.seq_scan::text, s.seq_tup_read::text, COALESCE(s.idx_scan, 0)::text AS idx_scan,
         GREATEST(s.n_live_tup, c.reltuples::bigint)::text AS live_rows, pg_table_size(s.relid)::text AS size_bytes,
         ARRAY(SELECT a.attname::text FROM pg_attribute a
                WHERE a.attrelid = s.relid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
         ARRAY(SELECT DISTINCT a.attname::text FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                WHERE i.indrelid = s.relid AND i.indisvalid AND i.indpred IS NULL) AS indexed_leading
    FROM pg_stat_user_tables s
    JOIN pg_class c ON c.oid = s.relid
   WHERE GREATEST(s.n_live_tup, c.reltuples::bigint) >= $1 AND s.seq_scan >= $2
     AND s.seq_scan::float8 / NULLIF(s.seq_scan + COALESCE(s.idx_scan, 0), 0) >= $3
   ORDER BY s.seq_tup_read DESC`;

// Statements of this database that name the table; position() rather than a regex so no quoting is needed.
const CANDIDATES_SQL = `
  SELECT queryid::text AS queryid, query, calls::text AS calls, total_exec_time AS total_ms
    FROM pg_stat_statements
   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND ${NOT_ADVISOR_SQL}
     AND position(lower($1) IN lower(query)) > 0
     AND query ~* '^\\s*(SELECT|UPDATE|DELETE|WITH|MERGE)\\y'
   ORDER BY total_exec_time DESC
   LIMIT 3`;

// Parallel workers launched by every statement that names the table: each one counted a seq_scan.
const WORKERS_SQL = `
  SELECT COALESCE(sum(parallel_workers_launched), 0)::text AS workers
    FROM pg_stat_statements
   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND ${NOT_ADVISOR_SQL}
     AND position(lower($1) IN lower(query)) > 0`;

const IDENT = '"?([A-Za-z_][A-Za-z0-9_$]*)"?';
// `[alias.]column <op>` in a WHERE clause: the columns a statement filters on
const PREDICATE = new RegExp(
  `(?:^|[\\s(,])(?:${IDENT}\\.)?${IDENT}\\s*(=|<>|!=|<=|>=|<|>|\\bIN\\b|\\bLIKE\\b|\\bILIKE\\b|\\bBETWEEN\\b|\\bIS\\b)`,
  'gi',
);

/** Operators a b-tree cannot serve with a leading wildcard: they want a trigram index. */
const PATTERN_OPS = /^i?like$/i;

/** The table's columns a statement's WHERE clause compares with LIKE/ILIKE (patterns). */
export function patternColumns(statement: string, tableColumns: readonly string[]): Set<string> {
  const where = /\bWHERE\b([\s\S]*)/i.exec(statement);
  const known = new Map(tableColumns.map((c) => [c.toLowerCase(), c]));
  const out = new Set<string>();
  for (const m of where?.[1].matchAll(PREDICATE) ?? []) {
    const col = known.get(m[2].toLowerCase());
    if (col && PATTERN_OPS.test(m[3])) out.add(col);
  }
  return out;
}

/** The table's columns a statement's WHERE clause compares, in order; equality ones first. */
export function filterColumns(statement: string, tableColumns: readonly string[]): string[] {
  const where = /\bWHERE\b([\s\S]*?)(?:\bGROUP\s+BY\b|\bORDER\s+BY\b|\bLIMIT\b|\bRETURNING\b|$)/i.exec(statement);
  if (!where) return [];
  const known = new Map(tableColumns.map((c) => [c.toLowerCase(), c]));
  const equality: string[] = [];
  const other: string[] = [];
  for (const m of where[1].matchAll(PREDICATE)) {
    const col = known.get(m[2].toLowerCase());
    if (!col) continue;
    const list = m[3] === '=' || /^in$/i.test(m[3]) ? equality : other;
    if (!equality.includes(col) && !other.includes(col)) list.push(col);
  }
  return [...equality, ...other];
}

const quoteIdent = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

export const seqScans: Check = {
  name: 'seq-scans',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.seqScans;
    const { rows } = await ctx.db.query<Row>(SQL, [t.minLiveRows, t.minSeqScans, t.minSeqShare]);
    const findings: Finding[] = [];
    for (const r of rows) {
      const rawSeqScans = Number(r.seq_scan);
      const seqTupRead = Number(r.seq_tup_read);
      let candidates: EvidenceRow[] = [];
      let parallelWorkerScans = 0;
      const columnVotes = new Map<string, number>();
      const patterns = new Set<string>();
      if (ctx.hasPgStatStatements) {
        const c = await ctx.db.query<{ queryid: string; query: string; calls: string; total_ms: number }>(
          CANDIDATES_SQL,
          [r.relname],
        );
        parallelWorkerScans = Number(
          (await ctx.db.query<{ workers: string }>(WORKERS_SQL, [r.relname])).rows[0]?.workers ?? 0,
        );
        candidates = c.rows.map((q) => {
          const full = normaliseStatement(q.query, Number.MAX_SAFE_INTEGER);
          const cols = filterColumns(full, r.columns);
          for (const col of patternColumns(full, r.columns)) patterns.add(col);
          for (const [i, col] of cols.entries())
            columnVotes.set(col, (columnVotes.get(col) ?? 0) + q.total_ms / (i + 1));
          return {
            queryId: q.queryid,
            statement: shownStatement(q.query, ctx.thresholds.statements.textLength),
            calls: Number(q.calls),
            totalMs: Math.round(q.total_ms * 100) / 100,
            filterColumns: cols.join(', ') || null,
          };
        });
      }
      // a parallel scan counts once, not once per process
      const seqScan = Math.max(rawSeqScans - parallelWorkerScans, 1);
      if (seqScan < t.minSeqScans) continue;
      const unindexed = [...columnVotes.entries()]
        .filter(([col]) => !r.indexed_leading.includes(col))
        .sort((a, b) => b[1] - a[1])
        .map(([col]) => col);
      const column = unindexed[0];
      // LIKE/ILIKE '%…%' cannot use a b-tree: a trigram index (pg_trgm, installed by the migrations) can
      const trigram = column !== undefined && patterns.has(column);
      findings.push({
        id: 'seq-scan-heavy-table',
        severity: seqTupRead >= t.mediumTupRead ? 'medium' : 'low',
        title: `${r.table_name} is read by sequential scans: ${seqScan} scans read ${seqTupRead} rows${column ? `; its statements filter on ${column}, which no index leads` : ''}`,
        subject: r.table_name,
        evidence: {
          table: r.table_name,
          seqScans: seqScan,
          parallelWorkerScans,
          seqTupRead,
          avgRowsPerSeqScan: Math.round(seqTupRead / Math.max(seqScan, 1)),
          indexScans: Number(r.idx_scan),
          liveRows: Number(r.live_rows),
          tableBytes: Number(r.size_bytes),
          suggestedColumn: column ?? null,
          candidateStatements: candidates,
        },
        action: {
          description: column
            ? `Missing-index candidate: the statements that scan it filter on ${column}${trigram ? ' with LIKE/ILIKE patterns, which a b-tree cannot serve: a trigram index can' : ''}. Confirm with EXPLAIN that the filter is selective, then add the index in a migration (CONCURRENTLY: writes continue).`
            : 'Missing-index candidate: find the WHERE/JOIN columns of the statements that scan it (candidateStatements, or pg_stat_statements), confirm with EXPLAIN, and add an index in a migration.',
          sql: column
            ? [
                trigram
                  ? `CREATE INDEX CONCURRENTLY ON ${r.table_name} USING gin (${quoteIdent(column)} gin_trgm_ops);`
                  : `CREATE INDEX CONCURRENTLY ON ${r.table_name} (${quoteIdent(column)});`,
              ]
            : [
                `SELECT queryid, calls, mean_exec_time, query FROM pg_stat_statements WHERE query ILIKE '%${r.relname.replace(/'/g, "''")}%' ORDER BY total_exec_time DESC LIMIT 10;`,
                `CREATE INDEX CONCURRENTLY ON ${r.table_name} (<filter column>);`,
              ],
        },
      });
    }
    return { findings, metrics: { seqScanHeavyTables: findings.length } };
  },
};
