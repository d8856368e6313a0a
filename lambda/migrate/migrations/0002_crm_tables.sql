-- 0002: the CRM tables.
--
-- Conventions every business table follows:
--   id          uuid primary key, gen_random_uuid() (core since PostgreSQL 13).
--   created_at  set on insert; never changes (the trigger below restores it on update).
--   updated_at  set by the trigger crm.touch_row() on every UPDATE; the API need not set it.
--   deleted_at  soft delete. Rows with deleted_at set are hidden by the API and do not count
--               for uniqueness (unique indexes are partial: WHERE deleted_at IS NULL).
--   version     optimistic concurrency. The trigger crm.touch_row() sets
--               NEW.version = OLD.version + 1 on every UPDATE, so the API writes
--               `UPDATE ... WHERE id = $1 AND version = $2` and checks the row count. An API that
--               also writes `version = version + 1` gets the same result (the trigger wins).
--   owner_id    the user owning a business record (companies, contacts, deals, activities).
--               ON DELETE RESTRICT: a user is soft-deleted; hard-deleting one requires
--               reassigning their records first.
--
-- Enumerations are text + CHECK (not PostgreSQL enum types) so a later migration can change a
-- list with one constraint swap. Money is an integer amount of minor units (cents) plus an ISO
-- 4217 currency code. Every foreign key has an index; name/email/domain search uses pg_trgm GIN
-- indexes (pg_trgm matching is case-insensitive, so ILIKE '%x%' and similarity() use them).
--
-- Normalised uniqueness: emails and domains are unique on lower(...) among non-deleted rows.
-- Store them as entered (trimmed) and look them up with lower(column) = lower($1).
--
-- Append-only tables (deal_stage_history, audit_log) have no updated_at/deleted_at/version.
-- The API writes deal_stage_history when it moves a deal; crm_app cannot UPDATE or DELETE
-- audit_log rows.

CREATE FUNCTION crm.touch_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
  NEW.id := OLD.id;
  NEW.created_at := OLD.created_at;
  NEW.updated_at := now();
  NEW.version := OLD.version + 1;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm.touch_row() IS
  'BEFORE UPDATE trigger: keeps id and created_at, sets updated_at = now(), increments version.';

-- Users of the CRM, one per Cognito user.
CREATE TABLE crm.users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  cognito_sub   text NOT NULL UNIQUE CHECK (char_length(cognito_sub) BETWEEN 1 AND 128),
  email         text NOT NULL CHECK (char_length(email) <= 320 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
  display_name  text NOT NULL CHECK (char_length(btrim(display_name)) BETWEEN 1 AND 200),
  role          text NOT NULL DEFAULT 'sales' CHECK (role IN ('admin', 'manager', 'sales', 'readonly')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE UNIQUE INDEX users_email_key ON crm.users (lower(email)) WHERE deleted_at IS NULL;
COMMENT ON TABLE crm.users IS 'CRM users; cognito_sub is the Cognito user pool sub claim.';

CREATE TABLE crm.companies (
  id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                     text NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 200),
  domain                   text CHECK (
                             char_length(domain) <= 253
                             AND domain ~* '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'
                           ),
  industry                 text CHECK (char_length(industry) <= 100),
  size                     text CHECK (size IN ('1-10', '11-50', '51-200', '201-500', '501-1000', '1001-5000', '5001-10000', '10001+')),
  address_line1            text CHECK (char_length(address_line1) <= 200),
  address_line2            text CHECK (char_length(address_line2) <= 200),
  city                     text CHECK (char_length(city) <= 100),
  region                   text CHECK (char_length(region) <= 100),
  postal_code              text CHECK (char_length(postal_code) <= 20),
  country_code             text CHECK (country_code ~ '^[A-Z]{2}$'),
  annual_revenue_minor     bigint CHECK (annual_revenue_minor >= 0),
  annual_revenue_currency  text CHECK (annual_revenue_currency ~ '^[A-Z]{3}$'),
  owner_id                 uuid NOT NULL REFERENCES crm.users (id) ON DELETE RESTRICT,
  created_at               timestamptz NOT NULL DEFAULT now(),
  updated_at               timestamptz NOT NULL DEFAULT now(),
  deleted_at               timestamptz,
  version                  integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  CONSTRAINT companies_revenue_has_currency CHECK (annual_revenue_minor IS NULL OR annual_revenue_currency IS NOT NULL)
);
CREATE UNIQUE INDEX companies_domain_key ON crm.companies (lower(domain)) WHERE deleted_at IS NULL AND domain IS NOT NULL;
CREATE INDEX companies_owner_id_idx ON crm.companies (owner_id);
CREATE INDEX companies_name_trgm_idx ON crm.companies USING gin (name gin_trgm_ops);
CREATE INDEX companies_domain_trgm_idx ON crm.companies USING gin (domain gin_trgm_ops);
COMMENT ON COLUMN crm.companies.annual_revenue_minor IS 'Annual revenue in minor units (cents) of annual_revenue_currency.';

CREATE TABLE crm.contacts (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  first_name           text CHECK (char_length(first_name) <= 100),
  last_name            text CHECK (char_length(last_name) <= 100),
  email                text CHECK (char_length(email) <= 320 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
  phone                text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  title                text CHECK (char_length(title) <= 200),
  company_id           uuid REFERENCES crm.companies (id) ON DELETE SET NULL,
  -- Consent and lawful basis (GDPR art. 6/7): why we may process this person's data, and
  -- whether they agreed to marketing, when and how.
  lawful_basis         text CHECK (lawful_basis IN ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests')),
  marketing_consent    text NOT NULL DEFAULT 'unknown' CHECK (marketing_consent IN ('unknown', 'granted', 'withdrawn')),
  consent_recorded_at  timestamptz,
  consent_source       text CHECK (char_length(consent_source) <= 200),
  owner_id             uuid NOT NULL REFERENCES crm.users (id) ON DELETE RESTRICT,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  deleted_at           timestamptz,
  version              integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  CONSTRAINT contacts_has_name CHECK (coalesce(btrim(first_name), '') <> '' OR coalesce(btrim(last_name), '') <> ''),
  CONSTRAINT contacts_consent_recorded CHECK (marketing_consent = 'unknown' OR consent_recorded_at IS NOT NULL),
  CONSTRAINT contacts_consent_basis CHECK (lawful_basis IS DISTINCT FROM 'consent' OR marketing_consent = 'granted')
);
CREATE UNIQUE INDEX contacts_email_key ON crm.contacts (lower(email)) WHERE deleted_at IS NULL AND email IS NOT NULL;
CREATE INDEX contacts_company_id_idx ON crm.contacts (company_id);
CREATE INDEX contacts_owner_id_idx ON crm.contacts (owner_id);
CREATE INDEX contacts_first_name_trgm_idx ON crm.contacts USING gin (first_name gin_trgm_ops);
CREATE INDEX contacts_last_name_trgm_idx ON crm.contacts USING gin (last_name gin_trgm_ops);
CREATE INDEX contacts_email_trgm_idx ON crm.contacts USING gin (email gin_trgm_ops);
COMMENT ON COLUMN crm.contacts.phone IS 'E.164, e.g. +14155550123.';

CREATE TABLE crm.pipelines (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 100),
  is_default  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz,
  version     integer NOT NULL DEFAULT 1 CHECK (version >= 1)
);
CREATE UNIQUE INDEX pipelines_name_key ON crm.pipelines (lower(name)) WHERE deleted_at IS NULL;
-- At most one default pipeline.
CREATE UNIQUE INDEX pipelines_one_default_key ON crm.pipelines (is_default) WHERE is_default AND deleted_at IS NULL;

CREATE TABLE crm.pipeline_stages (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pipeline_id  uuid NOT NULL REFERENCES crm.pipelines (id) ON DELETE CASCADE,
  name         text NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 100),
  position     integer NOT NULL CHECK (position >= 0),
  probability  integer NOT NULL CHECK (probability BETWEEN 0 AND 100),
  is_closed    boolean NOT NULL DEFAULT false,
  is_won       boolean NOT NULL DEFAULT false,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz,
  version      integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  CONSTRAINT pipeline_stages_won_is_closed CHECK (NOT is_won OR is_closed),
  -- Target of the deals (stage_id, pipeline_id) foreign key: a deal's stage is in its pipeline.
  CONSTRAINT pipeline_stages_id_pipeline_key UNIQUE (id, pipeline_id)
);
CREATE INDEX pipeline_stages_pipeline_id_idx ON crm.pipeline_stages (pipeline_id);
CREATE UNIQUE INDEX pipeline_stages_position_key ON crm.pipeline_stages (pipeline_id, position) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX pipeline_stages_name_key ON crm.pipeline_stages (pipeline_id, lower(name)) WHERE deleted_at IS NULL;
COMMENT ON COLUMN crm.pipeline_stages.position IS 'Order of the stage within its pipeline, ascending.';

CREATE TABLE crm.deals (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                text NOT NULL CHECK (char_length(btrim(name)) BETWEEN 1 AND 200),
  amount_minor        bigint CHECK (amount_minor >= 0),
  currency            text CHECK (currency ~ '^[A-Z]{3}$'),
  close_date          date,
  pipeline_id         uuid NOT NULL REFERENCES crm.pipelines (id) ON DELETE RESTRICT,
  stage_id            uuid NOT NULL,
  company_id          uuid REFERENCES crm.companies (id) ON DELETE SET NULL,
  primary_contact_id  uuid REFERENCES crm.contacts (id) ON DELETE SET NULL,
  owner_id            uuid NOT NULL REFERENCES crm.users (id) ON DELETE RESTRICT,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  deleted_at          timestamptz,
  version             integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  CONSTRAINT deals_amount_has_currency CHECK (amount_minor IS NULL OR currency IS NOT NULL),
  CONSTRAINT deals_stage_in_pipeline FOREIGN KEY (stage_id, pipeline_id)
    REFERENCES crm.pipeline_stages (id, pipeline_id) ON DELETE RESTRICT
);
CREATE INDEX deals_pipeline_id_idx ON crm.deals (pipeline_id);
CREATE INDEX deals_stage_id_idx ON crm.deals (stage_id, pipeline_id);
CREATE INDEX deals_company_id_idx ON crm.deals (company_id);
CREATE INDEX deals_primary_contact_id_idx ON crm.deals (primary_contact_id);
CREATE INDEX deals_owner_id_idx ON crm.deals (owner_id);
CREATE INDEX deals_name_trgm_idx ON crm.deals USING gin (name gin_trgm_ops);
COMMENT ON COLUMN crm.deals.amount_minor IS 'Deal value in minor units (cents) of currency.';

-- Append-only: one row per stage change, written by the API in the transaction that moves the deal.
CREATE TABLE crm.deal_stage_history (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  deal_id        uuid NOT NULL REFERENCES crm.deals (id) ON DELETE CASCADE,
  from_stage_id  uuid REFERENCES crm.pipeline_stages (id) ON DELETE RESTRICT,
  to_stage_id    uuid NOT NULL REFERENCES crm.pipeline_stages (id) ON DELETE RESTRICT,
  amount_minor   bigint CHECK (amount_minor >= 0),
  currency       text CHECK (currency ~ '^[A-Z]{3}$'),
  changed_by     uuid REFERENCES crm.users (id) ON DELETE SET NULL,
  changed_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT deal_stage_history_stage_changes CHECK (from_stage_id IS DISTINCT FROM to_stage_id),
  CONSTRAINT deal_stage_history_amount_has_currency CHECK (amount_minor IS NULL OR currency IS NOT NULL)
);
CREATE INDEX deal_stage_history_deal_id_idx ON crm.deal_stage_history (deal_id, changed_at);
CREATE INDEX deal_stage_history_from_stage_id_idx ON crm.deal_stage_history (from_stage_id);
CREATE INDEX deal_stage_history_to_stage_id_idx ON crm.deal_stage_history (to_stage_id);
CREATE INDEX deal_stage_history_changed_by_idx ON crm.deal_stage_history (changed_by);
COMMENT ON COLUMN crm.deal_stage_history.from_stage_id IS 'NULL for the stage a deal was created in.';

CREATE TABLE crm.activities (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type          text NOT NULL CHECK (type IN ('note', 'task', 'call', 'meeting', 'email')),
  subject       text NOT NULL CHECK (char_length(btrim(subject)) BETWEEN 1 AND 500),
  body          text CHECK (char_length(body) <= 100000),
  due_at        timestamptz,
  completed_at  timestamptz,
  -- An activity belongs to what it is linked to: hard-deleting that record (e.g. erasing a
  -- contact) deletes its activities too.
  company_id    uuid REFERENCES crm.companies (id) ON DELETE CASCADE,
  contact_id    uuid REFERENCES crm.contacts (id) ON DELETE CASCADE,
  deal_id       uuid REFERENCES crm.deals (id) ON DELETE CASCADE,
  owner_id      uuid NOT NULL REFERENCES crm.users (id) ON DELETE RESTRICT,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz,
  version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  CONSTRAINT activities_linked CHECK (num_nonnulls(company_id, contact_id, deal_id) >= 1)
);
CREATE INDEX activities_company_id_idx ON crm.activities (company_id);
CREATE INDEX activities_contact_id_idx ON crm.activities (contact_id);
CREATE INDEX activities_deal_id_idx ON crm.activities (deal_id);
CREATE INDEX activities_owner_id_idx ON crm.activities (owner_id);
-- Open tasks by due date ("my tasks" views).
CREATE INDEX activities_open_due_idx ON crm.activities (owner_id, due_at) WHERE completed_at IS NULL AND deleted_at IS NULL;

-- Append-only record of who changed what. crm_app may INSERT and SELECT only (revoked below).
CREATE TABLE crm.audit_log (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  actor      text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 200),
  action     text NOT NULL CHECK (action ~ '^[a-z][a-z_.]{0,62}$'),
  entity     text NOT NULL CHECK (entity ~ '^[a-z][a-z_]{0,62}$'),
  entity_id  uuid,
  diff       jsonb,
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity_idx ON crm.audit_log (entity, entity_id, at);
CREATE INDEX audit_log_actor_idx ON crm.audit_log (actor, at);
CREATE INDEX audit_log_at_idx ON crm.audit_log (at);
COMMENT ON COLUMN crm.audit_log.actor IS 'users.id of the caller as text, or a system actor such as ''system:migrate''.';
COMMENT ON COLUMN crm.audit_log.diff IS 'Changed fields as {"field": {"from": ..., "to": ...}}; no secrets.';

-- Idempotency-Key support for the API: the first response to (actor, key) is stored and
-- replayed for retries carrying the same key and request hash until expires_at.
CREATE TABLE crm.idempotency_keys (
  key           text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
  actor         text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 200),
  method        text NOT NULL CHECK (method IN ('POST', 'PUT', 'PATCH', 'DELETE')),
  path          text NOT NULL CHECK (char_length(path) BETWEEN 1 AND 2048),
  request_hash  text NOT NULL CHECK (char_length(request_hash) BETWEEN 1 AND 128),
  status_code   integer CHECK (status_code BETWEEN 100 AND 599),
  response      jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  PRIMARY KEY (actor, key),
  CONSTRAINT idempotency_keys_expires_after_created CHECK (expires_at > created_at)
);
CREATE INDEX idempotency_keys_expires_at_idx ON crm.idempotency_keys (expires_at);
COMMENT ON COLUMN crm.idempotency_keys.status_code IS 'NULL while the first request is still in flight.';

CREATE TRIGGER touch_row BEFORE UPDATE ON crm.users FOR EACH ROW EXECUTE FUNCTION crm.touch_row();
CREATE TRIGGER touch_row BEFORE UPDATE ON crm.companies FOR EACH ROW EXECUTE FUNCTION crm.touch_row();
CREATE TRIGGER touch_row BEFORE UPDATE ON crm.contacts FOR EACH ROW EXECUTE FUNCTION crm.touch_row();
CREATE TRIGGER touch_row BEFORE UPDATE ON crm.pipelines FOR EACH ROW EXECUTE FUNCTION crm.touch_row();
CREATE TRIGGER touch_row BEFORE UPDATE ON crm.pipeline_stages FOR EACH ROW EXECUTE FUNCTION crm.touch_row();
CREATE TRIGGER touch_row BEFORE UPDATE ON crm.deals FOR EACH ROW EXECUTE FUNCTION crm.touch_row();
CREATE TRIGGER touch_row BEFORE UPDATE ON crm.activities FOR EACH ROW EXECUTE FUNCTION crm.touch_row();

-- The default privileges from 0001 granted full DML on every table above; history is append-only.
REVOKE UPDATE, DELETE ON crm.audit_log FROM crm_app;
