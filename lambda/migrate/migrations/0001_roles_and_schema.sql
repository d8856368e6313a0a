-- 0001: extensions, the crm schema and the roles the platform connects as.
--
-- Runs as the database owner (the RDS master user; the embedded cluster's owner locally). The
-- runner creates crm_meta.schema_migrations before the first migration, so this file can grant
-- read access to it.
--
-- Roles are cluster-wide but this migration runs once per database, and the tests migrate many
-- databases of one cluster at the same time. So a role is created (and given its memberships
-- and settings) only when it is missing, and losing that race to a concurrent migration of
-- another database is not an error. Per-database privileges below are granted unconditionally.
--
--   crm_app      The API's role: LOGIN without a password (on RDS it signs in with an IAM token
--                through RDS Proxy, via rds_iam). DML only on schema crm, no DDL, read-only on
--                the migration history.
--   crm_monitor  The DB advisor's role: LOGIN without a password (IAM on RDS), pg_monitor for
--                the statistics views, SELECT on crm (EXPLAIN needs it), sessions read-only by
--                default.
--
-- rds_iam exists only on RDS; it is granted when present so the same SQL runs on plain
-- PostgreSQL.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SCHEMA IF NOT EXISTS crm;
COMMENT ON SCHEMA crm IS 'CRM business data. Owned by the migration role; crm_app has DML only.';

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_app') THEN
    BEGIN
      CREATE ROLE crm_app LOGIN;
      COMMENT ON ROLE crm_app IS 'CRM API: DML on schema crm only (IAM auth through RDS Proxy on AWS).';
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- created concurrently by the migration of another database in this cluster
    END;
  END IF;

  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'crm_monitor') THEN
    BEGIN
      CREATE ROLE crm_monitor LOGIN;
      COMMENT ON ROLE crm_monitor IS 'DB advisor: pg_monitor and read-only access to schema crm.';
      GRANT pg_monitor TO crm_monitor;
      -- A default, not a security boundary: the grants below are what keep it read-only.
      ALTER ROLE crm_monitor SET default_transaction_read_only = on;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- created concurrently by the migration of another database in this cluster
    END;
  END IF;

  -- For roles that existed before this migration (created by hand or by an older cluster).
  IF NOT pg_catalog.pg_has_role('crm_monitor', 'pg_monitor', 'MEMBER') THEN
    GRANT pg_monitor TO crm_monitor;
  END IF;

  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rds_iam') THEN
    IF NOT pg_catalog.pg_has_role('crm_app', 'rds_iam', 'MEMBER') THEN
      GRANT rds_iam TO crm_app;
    END IF;
    IF NOT pg_catalog.pg_has_role('crm_monitor', 'rds_iam', 'MEMBER') THEN
      GRANT rds_iam TO crm_monitor;
    END IF;
  END IF;
END
$$;

-- Nobody but the owner creates objects in crm; the application roles only use it.
REVOKE ALL ON SCHEMA crm FROM PUBLIC;
GRANT USAGE ON SCHEMA crm TO crm_app, crm_monitor;

-- The API and the advisor read the schema version; only the migration runner writes it.
REVOKE ALL ON SCHEMA crm_meta FROM PUBLIC;
GRANT USAGE ON SCHEMA crm_meta TO crm_app, crm_monitor;
GRANT SELECT ON crm_meta.schema_migrations TO crm_app, crm_monitor;

-- Tables and sequences that later migrations create in crm get the same grants automatically.
-- (Default privileges attach to the role running this migration, which runs all migrations.)
ALTER DEFAULT PRIVILEGES IN SCHEMA crm GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO crm_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA crm GRANT USAGE, SELECT ON SEQUENCES TO crm_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA crm GRANT SELECT ON TABLES TO crm_monitor;
