/**
 * Rule `temp-file-spills`: sorts, hashes and materialisations that did not fit in work_mem and
 * spilled to temporary files — pg_stat_database.temp_bytes of this database since the
 * statistics reset. `low` from tempFiles.lowBytes, `medium` from mediumBytes. The statements that
 * wrote the most temporary blocks (pg_stat_statements.temp_blks_written) are the evidence.
 * Spills also come from CREATE INDEX and large hash joins that no work_mem would fit; raise
 * work_mem for those statements (SET LOCAL) before raising it for every session.
 */
import { CONFIG_FIELDS } from '../config-fields';
import { NOT_ADVISOR_SQL } from '../sql-marker';
import { shownStatement } from '../statement-text';
import type { Check, CheckContext, CheckResult, EvidenceRow, Finding } from '../types';

const DB_SQL = `
  SELECT d.temp_files::text AS temp_files, d.temp_bytes::text AS temp_bytes,
         (SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'work_mem')::text AS work_mem_bytes,
         current_setting('block_size')::int AS block_size
    FROM pg_stat_database d WHERE d.datname = current_database()`;

const STATEMENTS_SQL = `
  SELECT queryid::text AS queryid, query, calls::text AS calls, temp_blks_written::text AS temp_blks_written,
         mean_exec_time AS mean_ms
    FROM pg_stat_statements
   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND ${NOT_ADVISOR_SQL} AND temp_blks_written > 0
   ORDER BY temp_blks_written DESC
   LIMIT 5`;

const MB = 1024 * 1024;

export const tempFiles: Check = {
  name: 'temp-files',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.tempFiles;
    const d = (
      await ctx.db.query<{ temp_files: string; temp_bytes: string; work_mem_bytes: string; block_size: number }>(DB_SQL)
    ).rows[0];
    const tempBytes = Number(d.temp_bytes);
    const metrics = { tempFileBytes: tempBytes };
    if (tempBytes < t.lowBytes) return { findings: [], metrics };
    let statements: EvidenceRow[] = [];
    if (ctx.hasPgStatStatements) {
      const s = await ctx.db.query<{
        queryid: string;
        query: string;
        calls: string;
        temp_blks_written: string;
        mean_ms: number;
      }>(STATEMENTS_SQL);
      statements = s.rows.map((r) => ({
        queryId: r.queryid,
        statement: shownStatement(r.query, ctx.thresholds.statements.textLength),
        calls: Number(r.calls),
        tempWrittenBytes: Number(r.temp_blks_written) * d.block_size,
        meanMs: Math.round(r.mean_ms * 100) / 100,
      }));
    }
    const workMem = Number(d.work_mem_bytes);
    const finding: Finding = {
      id: 'temp-file-spills',
      severity: tempBytes >= t.mediumBytes ? 'medium' : 'low',
      title: `Queries spilled ${Math.round(tempBytes / MB)} MB to ${Number(d.temp_files)} temporary files (work_mem is ${Math.round(workMem / MB)} MB)`,
      evidence: {
        tempFiles: Number(d.temp_files),
        tempBytes,
        workMemBytes: workMem,
        statements,
      },
      action: {
        description:
          'Give the statements that spill more memory for their sort or hash: SET LOCAL work_mem in their transaction, or ALTER ROLE … SET work_mem for a reporting role. Raise the server-wide value only within the parameter-work_mem recommendation (it is per sort/hash node per session).',
        sql: ["SET LOCAL work_mem = '64MB'; -- in the transaction of the statement that spills"],
        config: { field: CONFIG_FIELDS.workMemMb, value: Math.max(Math.round((2 * workMem) / MB), 8) },
      },
    };
    return { findings: [finding], metrics };
  },
};
