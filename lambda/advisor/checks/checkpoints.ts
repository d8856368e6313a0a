/**
 * Rule `checkpoints-requested`: checkpoints started because WAL reached max_wal_size (or by
 * CHECKPOINT, CREATE DATABASE, a base backup) rather than by checkpoint_timeout —
 * pg_stat_checkpointer.num_requested vs num_timed (PostgreSQL 17+) since its reset. Frequent
 * requested checkpoints mean more full-page writes (more WAL, more I/O) and write bursts.
 * Judged from checkpoints.minCheckpoints checkpoints on: `low` when requested ones are at least
 * lowRequestedShare of all, `medium` from mediumRequestedShare. Instance-wide.
 */
import { CONFIG_FIELDS } from '../config-fields';
import type { Check, CheckContext, CheckResult, Finding } from '../types';

type Row = {
  num_timed: string;
  num_requested: string;
  write_ms: number;
  sync_ms: number;
  buffers_written: string;
  stats_reset: string | null;
  max_wal_size_mb: string;
  checkpoint_timeout_s: string;
};

const SQL = `
  SELECT num_timed::text, num_requested::text, write_time AS write_ms, sync_time AS sync_ms,
         buffers_written::text,
         to_char(stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS stats_reset,
         (SELECT setting FROM pg_settings WHERE name = 'max_wal_size') AS max_wal_size_mb,
         (SELECT setting FROM pg_settings WHERE name = 'checkpoint_timeout') AS checkpoint_timeout_s
    FROM pg_stat_checkpointer`;

export const checkpoints: Check = {
  name: 'checkpoints',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.checkpoints;
    const r = (await ctx.db.query<Row>(SQL)).rows[0];
    const timed = Number(r.num_timed);
    const requested = Number(r.num_requested);
    const total = timed + requested;
    const share = total === 0 ? 0 : requested / total;
    const metrics = { checkpointsRequestedRatio: Math.round(share * 10_000) / 10_000 };
    if (total < t.minCheckpoints || share < t.lowRequestedShare) return { findings: [], metrics };
    const maxWalMb = Number(r.max_wal_size_mb);
    const finding: Finding = {
      id: 'checkpoints-requested',
      severity: share >= t.mediumRequestedShare ? 'medium' : 'low',
      title: `${requested} of ${total} checkpoints were requested, not timed: WAL fills max_wal_size (${maxWalMb} MB) before checkpoint_timeout`,
      evidence: {
        timedCheckpoints: timed,
        requestedCheckpoints: requested,
        requestedRatio: Math.round(share * 10_000) / 10_000,
        maxWalSizeBytes: maxWalMb * 1024 * 1024,
        checkpointTimeoutSeconds: Number(r.checkpoint_timeout_s),
        writeMs: Math.round(r.write_ms),
        syncMs: Math.round(r.sync_ms),
        buffersWritten: Number(r.buffers_written),
        statsSince: r.stats_reset,
      },
      action: {
        description:
          'Raise max_wal_size so checkpoints are spaced by checkpoint_timeout (storage permitting: WAL up to max_wal_size is kept on the instance). Manual CHECKPOINTs and CREATE DATABASE count as requested too; rule them out first.',
        config: { field: CONFIG_FIELDS.maxWalSizeMb, value: Math.max(maxWalMb * 2, 4096) },
      },
    };
    return { findings: [finding], metrics };
  },
};
