/**
 * Rule `inactive-replication-slot`: a replication slot (physical or logical, not temporary)
 * with no consumer connected. The server keeps every WAL segment from the slot's restart_lsn on,
 * and a logical slot also holds back the catalog xmin, so vacuum cannot clean system catalogs:
 * storage fills up until the instance stops accepting writes. Severity by the WAL it retains:
 * `low` below replicationSlots.mediumRetainedBytes, `medium` from it, `high` from
 * highRetainedBytes or when PostgreSQL reports the slot `unreserved` (about to lose WAL its
 * consumer needs). A `lost` slot retains nothing and can never resume: `low`, drop it.
 * Slots are instance-wide; logical ones belong to one database (shown in the evidence).
 */
import type { Check, CheckContext, CheckResult, Finding, Severity } from '../types';

type Row = {
  slot_name: string;
  slot_type: string;
  plugin: string | null;
  database: string | null;
  wal_status: string | null;
  retained_bytes: string | null;
  inactive_seconds: number | null;
  xmin_age: number | null;
  catalog_xmin_age: number | null;
};

const SQL = `
  SELECT slot_name::text, slot_type, plugin::text, database::text, wal_status,
         pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END,
                         restart_lsn)::bigint::text AS retained_bytes,
         EXTRACT(EPOCH FROM clock_timestamp() - inactive_since)::float8 AS inactive_seconds,
         age(xmin)::float8 AS xmin_age, age(catalog_xmin)::float8 AS catalog_xmin_age
    FROM pg_replication_slots
   WHERE NOT active AND NOT temporary
   ORDER BY restart_lsn NULLS LAST, slot_name`;

export const replicationSlots: Check = {
  name: 'replication-slots',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const t = ctx.thresholds.replicationSlots;
    const { rows } = await ctx.db.query<Row>(SQL);
    let retainedTotal = 0;
    const findings: Finding[] = rows.map((r) => {
      const retained = r.retained_bytes === null ? 0 : Math.max(Number(r.retained_bytes), 0);
      retainedTotal += retained;
      const lost = r.wal_status === 'lost';
      const severity: Severity = lost
        ? 'low'
        : retained >= t.highRetainedBytes || r.wal_status === 'unreserved'
          ? 'high'
          : retained >= t.mediumRetainedBytes
            ? 'medium'
            : 'low';
      return {
        id: 'inactive-replication-slot',
        severity,
        title: lost
          ? `Replication slot ${r.slot_name} is lost: its consumer can never resume from it`
          : `Inactive ${r.slot_type} replication slot ${r.slot_name} holds ${Math.round(retained / 1024 / 1024)} MB of WAL`,
        subject: r.slot_name,
        evidence: {
          slot: r.slot_name,
          slotType: r.slot_type,
          plugin: r.plugin,
          database: r.database,
          walStatus: r.wal_status,
          retainedWalBytes: retained,
          inactiveSeconds: r.inactive_seconds === null ? null : Math.round(r.inactive_seconds),
          xminAge: r.xmin_age,
          catalogXminAge: r.catalog_xmin_age,
        },
        action: {
          description:
            'Find its consumer (a replica, a CDC pipeline such as DMS, a logical subscriber). If it is gone for good, drop the slot (as the master user) so the server can recycle WAL; otherwise bring the consumer back. The FreeStorageSpace alarm is the backstop.',
          sql: [`SELECT pg_drop_replication_slot('${r.slot_name.replace(/'/g, "''")}');`],
        },
      };
    });
    return {
      findings,
      metrics: { inactiveReplicationSlots: rows.length, replicationSlotRetainedWalBytes: retainedTotal },
    };
  },
};
