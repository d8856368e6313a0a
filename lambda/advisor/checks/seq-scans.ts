/**
 * Rule `seq-scan-heavy-table` (missing-index candidate): a table with at least
 * seqScans.minLiveRows live rows, scanned sequentially at least minSeqScans times, with
 * sequential scans at least minSeqShare of all its scans. `low`; `medium` once seq_tup_read
 * reaches mediumTupRead. When pg_stat_statements is available the statements that mention the
 * table are listed as the likely culprits (normalised text only).
 */
import { normaliseStatement } from '../normalise';
import { NOT_ADVISOR_SQL } from '../sql-marker';
import type { Check, CheckContext, CheckResult, EvidenceRow, Finding } from '../types';

type Row = {
  table_name: string;
  relname: string;
  seq_scan: string;
  seq_tup_read: string;
  idx_scan: string;
  live_rows: string;
  size_bytes: string;
};

const SQL = `
  SELECT format('%I.%I', schemaname, relname) AS table_name, relname,
         seq_scan::text, seq_tup_read::text, COALESCE(idx_scan, 0)::text AS idx_scan,
         n_live_tup::text AS live_rows, pg_table_size(relid)::text AS size_bytes
    FROM pg_stat_user_tables
   WHERE n_live_tup >= $1 AND seq_scan >= $2
     AND seq_scan::float8 / NULLIF(seq_scan + COALESCE(idx_scan, 0), 0) >= $3
   ORDER BY seq_tup_read DESC`;

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

export const seqScans: Check = {
  name: 'seq-scans',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.seqScans;
    const { rows } = await ctx.db.query<Row>(SQL, [t.minLiveRows, t.minSeqScans, t.minSeqShare]);
    const findings: Finding[] = [];
    for (const r of rows) {
      const seqScan = Number(r.seq_scan);
      const seqTupRead = Number(r.seq_tup_read);
      let candidates: EvidenceRow[] = [];
      if (ctx.hasPgStatStatements) {
        const c = await ctx.db.query<{ queryid: string; query: string; calls: string; total_ms: number }>(
          CANDIDATES_SQL,
          [r.relname],
        );
        candidates = c.rows.map((q) => ({
          queryId: q.queryid,
          statement: normaliseStatement(q.query, ctx.thresholds.statements.textLength),
          calls: Number(q.calls),
          totalMs: Math.round(q.total_ms * 100) / 100,
        }));
      }
      findings.push({
        id: 'seq-scan-heavy-table',
        severity: seqTupRead >= t.mediumTupRead ? 'medium' : 'low',
        title: `${r.table_name} is read by sequential scans: ${seqScan} scans read ${seqTupRead} rows`,
        subject: r.table_name,
        evidence: {
          table: r.table_name,
          seqScans: seqScan,
          seqTupRead,
          avgRowsPerSeqScan: Math.round(seqTupRead / Math.max(seqScan, 1)),
          indexScans: Number(r.idx_scan),
          liveRows: Number(r.live_rows),
          tableBytes: Number(r.size_bytes),
          candidateStatements: candidates,
        },
        action: {
          description:
            'Missing-index candidate: find the WHERE/JOIN columns of the statements that scan it (candidateStatements, or pg_stat_statements), confirm with EXPLAIN, and add an index in a migration.',
          sql: [
            `SELECT queryid, calls, mean_exec_time, query FROM pg_stat_statements WHERE query ILIKE '%${r.relname.replace(/'/g, "''")}%' ORDER BY total_exec_time DESC LIMIT 10;`,
            `CREATE INDEX CONCURRENTLY ON ${r.table_name} (<filter column>);`,
          ],
        },
      });
    }
    return { findings, metrics: { seqScanHeavyTables: rows.length } };
  },
};
