-- Asking for a sign-in link does the same work whatever the address: the request counts
-- against its source and becomes an outbox row with no tenant; the mail function looks
-- the address up later. A source's requests are counted here, before any tenant is known.
CREATE TABLE signin_throttle (
    bucket       varchar(100) NOT NULL,
    window_start timestamptz NOT NULL,
    hits         int NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX signin_throttle_age_idx ON signin_throttle (window_start);
GRANT SELECT, INSERT, UPDATE ON signin_throttle TO pilot_feedback_app;

ALTER TABLE outbox ALTER COLUMN tenant_id DROP NOT NULL;
-- The request's outbox row names an address, no tenant and no item (and is read back
-- by the INSERT's RETURNING).
CREATE POLICY signin_request ON outbox FOR INSERT TO pilot_feedback_app
    WITH CHECK (tenant_id IS NULL AND feedback_id IS NULL AND kind = 'mail'
                AND payload ->> 'notice' = 'signin_request');
CREATE POLICY signin_request_returned ON outbox FOR SELECT TO pilot_feedback_app
    USING (tenant_id IS NULL AND feedback_id IS NULL AND kind = 'mail' AND payload ->> 'notice' = 'signin_request');

-- People leave: a removed person keeps their name in the history, but signs in no more,
-- is offered for no assignment and gets no mail; the address may join again later.
ALTER TABLE people ADD COLUMN removed_at timestamptz;
DROP INDEX people_email_idx;
CREATE UNIQUE INDEX people_email_idx ON people (email) WHERE removed_at IS NULL;
GRANT UPDATE (role, removed_at) ON people TO pilot_feedback_app;

CREATE OR REPLACE FUNCTION auth_person_by_email(p_email text)
RETURNS TABLE (person_id uuid, tenant_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$ SELECT p.id, p.tenant_id FROM people p WHERE p.email = lower(p_email) AND p.removed_at IS NULL $$;

CREATE OR REPLACE FUNCTION auth_signin_link(p_token_hash bytea)
RETURNS TABLE (person_id uuid, tenant_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    UPDATE signin_links l SET used_at = clock_timestamp()
      FROM people p
     WHERE l.token_hash = p_token_hash AND l.used_at IS NULL AND l.expires_at > clock_timestamp()
       AND p.id = l.person_id AND p.removed_at IS NULL
    RETURNING l.person_id, l.tenant_id
$$;

CREATE OR REPLACE FUNCTION auth_session(p_id_hash bytea)
RETURNS TABLE (person_id uuid, tenant_id uuid, role varchar, email varchar, name varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    SELECT p.id, p.tenant_id, p.role, p.email, p.name
      FROM console_sessions s JOIN people p ON p.id = s.person_id
     WHERE s.id_hash = p_id_hash AND s.ended_at IS NULL AND s.expires_at > now() AND p.removed_at IS NULL
$$;

-- Spent throttles, links and sessions are purged with the other short-lived records.
CREATE INDEX signin_links_age_idx ON signin_links (expires_at);
CREATE INDEX console_sessions_age_idx ON console_sessions (expires_at);

CREATE OR REPLACE FUNCTION purge_expired(idempotency_hours int, retention_days int, batch int)
RETURNS TABLE (what text, purged bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
DECLARE
    -- Floors, whatever a setting says: a retried request is answered for a day, and a
    -- redelivered webhook stays recognised longer than GitHub's events stay fresh.
    keep_requests interval := make_interval(hours => greatest(idempotency_hours, 24));
    keep_records interval := make_interval(days => greatest(retention_days, 2));
    keep_mails interval := make_interval(days => greatest(retention_days, 7));
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
    what := 'signin_throttle';
    DELETE FROM signin_throttle WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM signin_throttle WHERE window_start < now() - interval '1 day' LIMIT batch));
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN NEXT;
    -- A link or a session is of no use once expired (a day's grace, for the logs' sake).
    what := 'signin_links';
    DELETE FROM signin_links WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM signin_links WHERE expires_at < now() - interval '1 day' LIMIT batch));
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN NEXT;
    what := 'console_sessions';
    DELETE FROM console_sessions WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM console_sessions
         WHERE least(expires_at, coalesce(ended_at, expires_at)) < now() - interval '1 day' LIMIT batch));
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
    what := 'inbound_mails';
    DELETE FROM inbound_mails WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM inbound_mails WHERE received_at < now() - keep_mails LIMIT batch));
    GET DIAGNOSTICS purged = ROW_COUNT;
    RETURN NEXT;
END
$$;
