-- The database advisor's needs, and no more:
-- * pg_stat_statements in this database, so the advisor can rank statements (the library is
--   preloaded by the RDS parameter group and by the local/test clusters; the extension itself is
--   per database). On RDS the master user (rds_superuser) may create it.
-- * crm_monitor reads statistics through pg_monitor; it does not need, and must not have, access
--   to the CRM's personal data, so its SELECT on the crm tables is revoked.
-- * It may read sequence positions, to warn before a sequence runs out.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

REVOKE SELECT ON ALL TABLES IN SCHEMA crm FROM crm_monitor;
ALTER DEFAULT PRIVILEGES IN SCHEMA crm REVOKE SELECT ON TABLES FROM crm_monitor;

GRANT SELECT ON ALL SEQUENCES IN SCHEMA crm TO crm_monitor;
ALTER DEFAULT PRIVILEGES IN SCHEMA crm GRANT SELECT ON SEQUENCES TO crm_monitor;
