-- The mails taken by the intake are remembered (so that a redelivery makes no second
-- item) for as long as other records, and at least a week: mail servers retry for days.
CREATE INDEX inbound_mails_age_idx ON inbound_mails (received_at);

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
