-- 0008: the companies list filters `industry` case-insensitively, `lower(t.industry) = lower($n)`
-- (as `countryCode` already is: it is stored upper-cased), so `industry=software` finds
-- "Software". No index covered industry at all; this one matches that expression over live rows,
-- followed by the default sort (created_at, id), so a filtered first page of the default list is
-- read from the index in order.
--
-- The table may already hold data, so the index is built CONCURRENTLY (writes continue), outside
-- a transaction; IF NOT EXISTS makes a rerun after an interrupted build safe.
-- crm:no-transaction

CREATE INDEX CONCURRENTLY IF NOT EXISTS companies_lower_industry_created_at_id_idx
  ON crm.companies (lower(industry), created_at, id) WHERE deleted_at IS NULL;
