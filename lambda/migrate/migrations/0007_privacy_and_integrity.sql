-- Privacy and integrity of the trail (docs/api.md, "Erasure and export"; docs/migrations.md, "Roles").
--
-- 1. Erasure. An admin's hard delete of a contact must also remove the person's data from what the
--    API cannot edit: the audit trail (create/update diffs hold names, e-mail, phone, and for the
--    contact's activities subject and body) and stored Idempotency-Key responses. crm_app may not
--    UPDATE audit_log, so it gets one narrow SECURITY DEFINER function instead: it erases one
--    contact (the row, and through ON DELETE CASCADE its activities) and, in the same
--    transaction, blanks the values in that contact's and those activities' audit diffs. Who did
--    what and when (actor, action, entity, entity_id, at, the names of the changed fields) stays.
--    Fields that are not about the person (ids, consent state, dates) keep their values; every
--    other field is erased, so a field added later is erased by default.
-- 2. Append-only history. deal_stage_history was documented append-only but crm_app could UPDATE
--    and DELETE it (default privileges of 0001). Revoked. Deleting a deal still removes its
--    history: ON DELETE CASCADE runs with the table owner's rights, not the caller's.
-- 3. No temporary objects for the application roles: the API and the advisor never need them.

CREATE FUNCTION crm.erase_contact(p_contact uuid) RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  -- Contact and activity fields that are not personal data: kept in the trail.
  contact_kept constant text[] := ARRAY['id', 'ownerId', 'companyId', 'lawfulBasis', 'marketingConsent',
                                        'consentRecordedAt', 'deletedAt', 'version', 'createdAt', 'updatedAt'];
  activity_kept constant text[] := ARRAY['id', 'type', 'dueAt', 'completedAt', 'companyId', 'contactId', 'dealId',
                                         'ownerId', 'deletedAt', 'version', 'createdAt', 'updatedAt'];
  activity_ids uuid[];
  redacted integer := 0;
  n integer;
BEGIN
  PERFORM 1 FROM crm.contacts WHERE id = p_contact FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no contact %', p_contact USING ERRCODE = 'no_data_found';
  END IF;
  SELECT coalesce(array_agg(id), '{}') INTO activity_ids FROM crm.activities WHERE contact_id = p_contact;

  UPDATE crm.audit_log a
     SET diff = (SELECT jsonb_object_agg(
                          e.key,
                          CASE WHEN e.key = ANY (contact_kept) THEN e.value
                               ELSE jsonb_build_object('from', CASE WHEN e.value -> 'from' = 'null' THEN 'null'::jsonb ELSE '"[erased]"'::jsonb END,
                                                       'to',   CASE WHEN e.value -> 'to'   = 'null' THEN 'null'::jsonb ELSE '"[erased]"'::jsonb END)
                          END)
                 FROM jsonb_each(a.diff) AS e)
   WHERE a.entity = 'contact' AND a.entity_id = p_contact AND jsonb_typeof(a.diff) = 'object' AND a.diff <> '{}';
  GET DIAGNOSTICS n = ROW_COUNT;
  redacted := redacted + n;

  UPDATE crm.audit_log a
     SET diff = (SELECT jsonb_object_agg(
                          e.key,
                          CASE WHEN e.key = ANY (activity_kept) THEN e.value
                               ELSE jsonb_build_object('from', CASE WHEN e.value -> 'from' = 'null' THEN 'null'::jsonb ELSE '"[erased]"'::jsonb END,
                                                       'to',   CASE WHEN e.value -> 'to'   = 'null' THEN 'null'::jsonb ELSE '"[erased]"'::jsonb END)
                          END)
                 FROM jsonb_each(a.diff) AS e)
   WHERE a.entity = 'activity' AND a.entity_id = ANY (activity_ids) AND jsonb_typeof(a.diff) = 'object' AND a.diff <> '{}';
  GET DIAGNOSTICS n = ROW_COUNT;
  redacted := redacted + n;

  -- A stored response of a POST that created the contact or one of its activities.
  DELETE FROM crm.idempotency_keys
   WHERE response -> 'body' ->> 'id' = p_contact::text
      OR response -> 'body' ->> 'id' = ANY (SELECT x::text FROM unnest(activity_ids) AS x);

  DELETE FROM crm.contacts WHERE id = p_contact;
  RETURN redacted;
END
$$;
COMMENT ON FUNCTION crm.erase_contact(uuid) IS
  'Erasure (GDPR art. 17): deletes the contact and its activities and blanks their personal data in the audit trail; returns the number of audit rows redacted.';
REVOKE ALL ON FUNCTION crm.erase_contact(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm.erase_contact(uuid) TO crm_app;

REVOKE UPDATE, DELETE, TRUNCATE ON crm.deal_stage_history FROM crm_app;

DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), current_user);
END
$$;
