/**
 * Every statement the advisor sends ends with this comment, which pg_stat_statements keeps in
 * the query text (a leading comment is not kept: the text starts at the first token), so the
 * statement checks can leave the advisor's own queries out of the rankings.
 */
export const ADVISOR_SQL_MARKER = '/* crm-advisor */';

/** SQL condition on pg_stat_statements.query that excludes the advisor's own statements. */
export const NOT_ADVISOR_SQL = `query NOT LIKE '%${ADVISOR_SQL_MARKER}%'`;
