/**
 * Rules:
 * - `duplicate-index` (medium): two or more indexes on the same table with the same access
 *   method, key columns, operator classes, collations, INCLUDE columns, expressions and predicate.
 *   Every write maintains all of them; one is enough.
 * - `overlapping-index` (low): a plain b-tree whose key columns are a left prefix of another
 *   b-tree's keys on the same table (same operator classes). The longer index serves the
 *   shorter one's queries. Unique indexes are never called redundant: they enforce a rule.
 *
 * The comparison is done here rather than in SQL so the rule stays readable.
 */
import type { Check, CheckContext, CheckResult, Finding } from '../types';

type Row = {
  index_name: string;
  table_name: string;
  table_oid: number;
  index_oid: number;
  am: string;
  keys: number[];
  key_count: number;
  opclasses: string[];
  collations: string[];
  exprs: string | null;
  pred: string | null;
  is_unique: boolean;
  is_primary: boolean;
  constraint_name: string | null;
  size_bytes: string;
  index_scans: string;
  definition: string;
};

// indkey/indclass/indcollation are int2vector/oidvector: their text form is space-separated.
const SQL = `
  SELECT format('%I.%I', n.nspname, ic.relname) AS index_name,
         format('%I.%I', n.nspname, tc.relname) AS table_name,
         tc.oid::int AS table_oid,
         i.indexrelid::int AS index_oid,
         am.amname AS am,
         string_to_array(i.indkey::text, ' ')::int[] AS keys,
         i.indnkeyatts::int AS key_count,
         string_to_array(i.indclass::text, ' ') AS opclasses,
         string_to_array(i.indcollation::text, ' ') AS collations,
         pg_get_expr(i.indexprs, i.indrelid) AS exprs,
         pg_get_expr(i.indpred, i.indrelid) AS pred,
         i.indisunique AS is_unique, i.indisprimary AS is_primary,
         (SELECT format('%I', c.conname) FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid LIMIT 1) AS constraint_name,
         pg_relation_size(i.indexrelid)::text AS size_bytes,
         COALESCE(s.idx_scan, 0)::text AS index_scans,
         pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class tc ON tc.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = tc.relnamespace
    JOIN pg_am am ON am.oid = ic.relam
    LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
     AND i.indisvalid
   ORDER BY tc.oid, ic.relname`;

function signature(r: Row): string {
  return JSON.stringify([r.am, r.keys, r.key_count, r.opclasses, r.collations, r.exprs, r.pred]);
}

/** Constraint-backing and unique indexes are the ones to keep. */
function keepRank(r: Row): number {
  return (r.is_primary ? 4 : 0) + (r.constraint_name ? 2 : 0) + (r.is_unique ? 1 : 0);
}

function dropSql(r: Row): string {
  return r.constraint_name
    ? `ALTER TABLE ${r.table_name} DROP CONSTRAINT ${r.constraint_name};`
    : `DROP INDEX CONCURRENTLY IF EXISTS ${r.index_name};`;
}

function indexRow(r: Row) {
  return {
    index: r.index_name,
    sizeBytes: Number(r.size_bytes),
    indexScans: Number(r.index_scans),
    unique: r.is_unique,
    constraint: r.constraint_name,
    definition: r.definition,
  };
}

function isPrefix(short: Row, long: Row): boolean {
  if (short.am !== 'btree' || long.am !== 'btree') return false;
  if (short.exprs || long.exprs || short.pred || long.pred) return false;
  if (short.is_unique) return false;
  // the short index must have no INCLUDE columns and strictly fewer key columns
  if (short.keys.length !== short.key_count || short.key_count >= long.key_count) return false;
  for (let k = 0; k < short.key_count; k++) {
    if (short.keys[k] !== long.keys[k] || short.opclasses[k] !== long.opclasses[k]) return false;
    if (short.collations[k] !== long.collations[k]) return false;
  }
  return true;
}

export const duplicateIndexes: Check = {
  name: 'duplicate-indexes',
  async run(ctx: CheckContext): Promise<CheckResult> {
    const { rows } = await ctx.db.query<Row>(SQL);
    const byTable = new Map<number, Row[]>();
    for (const r of rows) byTable.set(r.table_oid, [...(byTable.get(r.table_oid) ?? []), r]);

    const findings: Finding[] = [];
    let duplicates = 0;
    for (const indexes of byTable.values()) {
      // exact duplicates: group by signature, keep the best-ranked one
      const groups = new Map<string, Row[]>();
      for (const r of indexes) groups.set(signature(r), [...(groups.get(signature(r)) ?? []), r]);
      const representatives: Row[] = [];
      for (const group of groups.values()) {
        // keep the constraint/unique one, else the one in use, else the oldest (most likely the migration's)
        const sorted = [...group].sort(
          (a, b) =>
            keepRank(b) - keepRank(a) || Number(b.index_scans) - Number(a.index_scans) || a.index_oid - b.index_oid,
        );
        const [keep, ...drop] = sorted;
        representatives.push(keep);
        if (drop.length === 0) continue;
        duplicates += drop.length;
        findings.push({
          id: 'duplicate-index',
          severity: 'medium',
          title: `${drop.map((d) => d.index_name).join(', ')} duplicate${drop.length === 1 ? 's' : ''} ${keep.index_name} on ${keep.table_name}`,
          subject: keep.index_name,
          evidence: {
            table: keep.table_name,
            keep: keep.index_name,
            wastedBytes: drop.reduce((s, d) => s + Number(d.size_bytes), 0),
            indexes: sorted.map(indexRow),
          },
          action: {
            description: `Keep ${keep.index_name}${keep.constraint_name ? ' (it backs a constraint)' : ''}; drop the duplicate in a migration.`,
            sql: drop.map(dropSql),
          },
        });
      }
      // left-prefix overlaps among the remaining indexes
      for (const short of representatives) {
        const long = representatives.find((l) => l !== short && isPrefix(short, l));
        if (!long) continue;
        findings.push({
          id: 'overlapping-index',
          severity: 'low',
          title: `${short.index_name} is a left prefix of ${long.index_name} on ${short.table_name}`,
          subject: short.index_name,
          evidence: {
            table: short.table_name,
            redundant: short.index_name,
            coveredBy: long.index_name,
            wastedBytes: Number(short.size_bytes),
            indexes: [indexRow(short), indexRow(long)],
          },
          action: {
            description: `Queries using ${short.index_name} can use ${long.index_name} (a slightly larger index). Drop the shorter one unless its smaller size is measurably faster for a hot query.`,
            sql: [dropSql(short)],
          },
        });
      }
    }
    return { findings, metrics: { duplicateIndexes: duplicates } };
  },
};
