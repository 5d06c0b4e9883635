-- Hardening: GitHub updates applied in order, issue links matched without regard
-- to letter case.

-- The `updated_at` of the last GitHub issue event applied to the item: an event
-- that is not newer (a replayed body under a new delivery id) changes nothing.
ALTER TABLE feedback ADD COLUMN github_updated_at timestamptz;

-- GitHub's owner and repository names are case-insensitive: the webhook finds
-- every item linked to an issue by the lower-cased URL.
DROP INDEX feedback_github_issue_idx;
CREATE INDEX feedback_github_issue_idx ON feedback (lower(github_issue_url)) WHERE github_issue_url IS NOT NULL;

-- Anonymous callers may ask for high and urgent priority (each opens a GitHub
-- issue) only where the tenant allows it.
ALTER TABLE tenants ADD COLUMN anonymous_priority boolean NOT NULL DEFAULT false;
GRANT SELECT (anonymous_priority) ON tenants TO pilot_feedback_app;

-- Mail-link keys are rotated: a new key signs new links (they name it); a retired
-- key still verifies links for a grace period.
ALTER TABLE signing_keys
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ADD COLUMN retired_at timestamptz;

-- Retention: what is kept only for a while is purged by age, through one function the
-- service may call (it may delete nothing itself). Indexes let each purge find its rows.
CREATE INDEX idempotency_keys_age_idx ON idempotency_keys (created_at);
CREATE INDEX rate_counters_age_idx ON rate_counters (window_start);
CREATE INDEX github_deliveries_age_idx ON github_deliveries (received_at);
CREATE INDEX outbox_done_idx ON outbox (done_at) WHERE done_at IS NOT NULL;

CREATE FUNCTION purge_expired(idempotency_hours int, retention_days int, batch int)
RETURNS TABLE (what text, purged bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
DECLARE
    -- Floors, whatever a setting says: a retried request is answered for a day, and a
    -- redelivered webhook stays recognised longer than GitHub's events stay fresh.
    keep_requests interval := make_interval(hours => greatest(idempotency_hours, 24));
    keep_records interval := make_interval(days => greatest(retention_days, 2));
BEGIN
    PERFORM set_config('app.staff', 'on', true);
    what := 'idempotency_keys';
    DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM idempotency_keys WHERE created_at < now() - keep_requests LIMIT batch));
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN NEXT;
    -- A counter matters only while its window lasts (an hour at most, here a day).
    what := 'rate_counters';
    DELETE FROM rate_counters WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM rate_counters WHERE window_start < now() - interval '1 day' LIMIT batch));
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN NEXT;
    what := 'github_deliveries';
    DELETE FROM github_deliveries WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM github_deliveries WHERE received_at < now() - keep_records LIMIT batch));
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN NEXT;
    -- Finished events only (sent, skipped or dead): pending ones are never purged.
    what := 'outbox';
    DELETE FROM outbox WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM outbox WHERE done_at < now() - keep_records LIMIT batch));
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION purge_expired(int, int, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION purge_expired(int, int, int) TO pilot_feedback_app;

-- A submitter's data erased on request: the item stays, anonymised, and says when.
ALTER TABLE feedback ADD COLUMN erased_at timestamptz;
ALTER TABLE feedback DROP CONSTRAINT feedback_check;
ALTER TABLE feedback ADD CONSTRAINT feedback_has_submitter
    CHECK (submitted_by IS NOT NULL OR submitter_email IS NOT NULL OR erased_at IS NOT NULL);

-- API keys name who holds them (shown in the audit trail and notes) and may expire.
ALTER TABLE api_keys
    ADD COLUMN label varchar(200) CHECK (length(btrim(label)) > 0),
    ADD COLUMN expires_at timestamptz;

-- The lookup refuses an expired key too, and says whose key it is.
DROP FUNCTION auth_api_key(bytea);
CREATE FUNCTION auth_api_key(p_key_hash bytea)
RETURNS TABLE (key_id uuid, tenant_id uuid, role varchar, user_id uuid, label varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    SELECT k.id, k.tenant_id, k.role, k.user_id, k.label
      FROM api_keys k
     WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
       AND (k.expires_at IS NULL OR k.expires_at > now())
$$;
REVOKE ALL ON FUNCTION auth_api_key(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_api_key(bytea) TO pilot_feedback_app;
