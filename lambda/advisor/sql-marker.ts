/**
 * Every statement the advisor sends starts with this comment, which pg_stat_statements keeps in
 * the query text: the statement checks leave the advisor's own queries out of the rankings.
 */
export const ADVISOR_SQL_MARKER = '/* crm-advisor */';

/** SQL condition on pg_stat_statements.query that excludes the advisor's own statements. */
export const NOT_ADVISOR_SQL = `query NOT LIKE '${ADVISOR_SQL_MARKER}%'`;
