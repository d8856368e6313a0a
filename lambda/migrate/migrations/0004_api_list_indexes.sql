-- 0004: indexes for the API's keyset-paginated lists.
--
-- Every list orders by (sort key, id) and pages with a row comparison
-- `(key, id) < ($cursorKey, $cursorId)`, over live rows only (deleted_at IS NULL). These partial
-- btree indexes let PostgreSQL read one page straight from the index in either direction instead
-- of sorting the table for every page. The sort keys match the `sort` whitelist of
-- lambda/api/resources/*.ts; nullable keys are indexed through the same COALESCE the API orders
-- by, so NULLs page like any other value.
--
-- The tables may already hold data when this runs, so the indexes are built CONCURRENTLY
-- (writes continue), outside a transaction. IF NOT EXISTS makes a rerun after an interrupted
-- build safe; an interrupted build can leave an INVALID index, which `REINDEX INDEX
-- CONCURRENTLY <name>` repairs.
-- crm:no-transaction

CREATE INDEX CONCURRENTLY IF NOT EXISTS companies_created_at_id_idx ON crm.companies (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS companies_updated_at_id_idx ON crm.companies (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS companies_name_id_idx ON crm.companies (name, id) WHERE deleted_at IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_created_at_id_idx ON crm.contacts (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_updated_at_id_idx ON crm.contacts (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS contacts_last_name_id_idx ON crm.contacts (coalesce(last_name, ''), id) WHERE deleted_at IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS deals_created_at_id_idx ON crm.deals (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS deals_updated_at_id_idx ON crm.deals (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS deals_name_id_idx ON crm.deals (name, id) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS deals_close_date_id_idx ON crm.deals (coalesce(close_date, 'infinity'::date), id) WHERE deleted_at IS NULL;

CREATE INDEX CONCURRENTLY IF NOT EXISTS activities_created_at_id_idx ON crm.activities (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS activities_due_at_id_idx ON crm.activities (coalesce(due_at, 'infinity'::timestamptz), id) WHERE deleted_at IS NULL;
