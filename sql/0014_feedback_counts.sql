-- Figures that do not grow with the tenant: the items' counts, kept by triggers on
-- feedback in the transaction of each change, read by the stats, the console's counts per
-- status, the dashboard and the triage stats instead of a scan of the tenant's items.
--
-- Writers to one tenant must not queue on one counter row: each key has up to 16 rows
-- (shards), each open transaction writing to a shard of its own, and readers sum them. A
-- shard may go below zero (an item counted in on one shard and out on another); only the
-- sums mean anything.
--
-- Only what a row says is kept here. Whether an unanswered item is overdue changes with
-- the clock alone, so the triage stats count those at read time, from a partial index of
-- the unanswered items (feedback_tenant_unanswered_idx): the open queue, not the history.

-- Per type, status and priority: items; those answered (acknowledged), the sum of their
-- seconds to the answer (for the mean response time), and how many were answered by
-- their SLA's due time (met) or after it (late).
CREATE TABLE feedback_counts (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    type             varchar(20) NOT NULL,
    status           varchar(20) NOT NULL,
    priority         varchar(20) NOT NULL,
    shard            smallint NOT NULL,
    items            bigint NOT NULL,
    answered         bigint NOT NULL,
    response_seconds numeric NOT NULL,
    met              bigint NOT NULL,
    late             bigint NOT NULL,
    PRIMARY KEY (tenant_id, type, status, priority, shard)
);

-- Open items per assignee. Nobody's are the open items less these: a new item, which
-- nobody is assigned yet, costs this table nothing.
CREATE TABLE feedback_assignee_counts (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    assignee_id uuid NOT NULL,
    shard       smallint NOT NULL,
    open        bigint NOT NULL,
    PRIMARY KEY (tenant_id, assignee_id, shard)
);

SELECT guard_tenant_table('feedback_counts'), guard_tenant_table('feedback_assignee_counts');
-- The service reads them; only the triggers (as the owner) write them.
GRANT SELECT ON feedback_counts, feedback_assignee_counts TO pilot_feedback_app;

-- What one item adds to the counts (sign 1) or takes from them (sign -1).
CREATE TYPE feedback_count_change AS (
    tenant_id    uuid,
    type         varchar(20),
    status       varchar(20),
    priority     varchar(20),
    assignee_id  uuid,
    seconds      numeric,  -- from creation to the answer; NULL: unanswered
    in_time      boolean,  -- answered by the SLA's due time; NULL: unanswered
    sign         int
);

CREATE FUNCTION feedback_count_change(f feedback, sign int) RETURNS feedback_count_change
LANGUAGE sql IMMUTABLE
AS $$
    SELECT ROW(f.tenant_id, f.type, f.status, f.priority, f.assignee_id,
               extract(epoch FROM f.acknowledged_at - f.created_at), f.acknowledged_at <= f.sla_due_at,
               sign)::feedback_count_change
$$;

-- A statement's changes, summed per key, added to one shard; keys whose changes cancel out
-- (an edited summary, a vote) are left alone. Rows are locked in key order, the same in
-- every statement.
CREATE FUNCTION count_feedback(changes feedback_count_change[]) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_shard smallint;
BEGIN
    -- A shard no other open transaction counts this tenant on (an advisory lock held to the
    -- end of the transaction says it is taken), from the backend's own onwards. Counter rows
    -- stay locked until the commit is flushed: writers sharing one would flush in turn.
    FOR v_try IN 0..15 LOOP
        v_shard := (pg_backend_pid() + v_try) % 16;
        EXIT WHEN pg_try_advisory_xact_lock(hashtext(changes[1].tenant_id::text), v_shard);
    END LOOP;
    INSERT INTO feedback_counts AS c (tenant_id, type, status, priority, shard,
                                      items, answered, response_seconds, met, late)
    SELECT s.tenant_id, s.type, s.status, s.priority, v_shard, s.items, s.answered, s.response_seconds, s.met, s.late
      FROM (SELECT d.tenant_id, d.type, d.status, d.priority, sum(d.sign) AS items,
                   coalesce(sum(d.sign) FILTER (WHERE d.seconds IS NOT NULL), 0) AS answered,
                   coalesce(sum(d.seconds * d.sign), 0) AS response_seconds,
                   coalesce(sum(d.sign) FILTER (WHERE d.in_time), 0) AS met,
                   coalesce(sum(d.sign) FILTER (WHERE NOT d.in_time), 0) AS late
              FROM unnest(changes) d
             GROUP BY 1, 2, 3, 4) s
     WHERE (s.items, s.answered, s.response_seconds, s.met, s.late) <> (0, 0, 0, 0, 0)
     ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, type, status, priority, shard) DO UPDATE
       SET items = c.items + EXCLUDED.items,
           answered = c.answered + EXCLUDED.answered,
           response_seconds = c.response_seconds + EXCLUDED.response_seconds,
           met = c.met + EXCLUDED.met,
           late = c.late + EXCLUDED.late;
    INSERT INTO feedback_assignee_counts AS c (tenant_id, assignee_id, shard, open)
    SELECT d.tenant_id, d.assignee_id, v_shard, sum(d.sign)
      FROM unnest(changes) d
     WHERE d.assignee_id IS NOT NULL AND d.status NOT IN ('completed', 'declined', 'duplicate')
     GROUP BY 1, 2
    HAVING sum(d.sign) <> 0
     ORDER BY 1, 2
    ON CONFLICT (tenant_id, assignee_id, shard) DO UPDATE SET open = c.open + EXCLUDED.open;
END
$$;

-- Whatever path changes items (the API, the console, the sweep, an operator), each
-- statement's old rows are counted out and its new ones in, once per statement however
-- many rows it touched. As the owner: the service may not write counts.
CREATE FUNCTION feedback_counts_follow() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM count_feedback(ARRAY(SELECT feedback_count_change(n, 1) FROM new_rows n));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM count_feedback(ARRAY(SELECT feedback_count_change(o, -1) FROM old_rows o
                                     UNION ALL SELECT feedback_count_change(n, 1) FROM new_rows n));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM count_feedback(ARRAY(SELECT feedback_count_change(o, -1) FROM old_rows o));
    ELSE
        TRUNCATE feedback_counts, feedback_assignee_counts;
    END IF;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION feedback_count_change(feedback, int), count_feedback(feedback_count_change[]),
                       feedback_counts_follow() FROM PUBLIC;

CREATE TRIGGER feedback_counts_insert AFTER INSERT ON feedback REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_counts_follow();
CREATE TRIGGER feedback_counts_update AFTER UPDATE ON feedback REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_counts_follow();
CREATE TRIGGER feedback_counts_delete AFTER DELETE ON feedback REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_counts_follow();
CREATE TRIGGER feedback_counts_truncate AFTER TRUNCATE ON feedback
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_counts_follow();

-- Unanswered items by due time: those overdue now are the breached-unanswered figure.
CREATE INDEX feedback_tenant_unanswered_idx ON feedback (tenant_id, sla_due_at)
    INCLUDE (type, status, priority) WHERE acknowledged_at IS NULL;

-- The items there already, counted on shard 0 (the triggers above hold off writers until
-- this commits). Row-level security hides every tenant's items from the owner but staff's.
SELECT set_config('app.staff', 'on', true);
INSERT INTO feedback_counts (tenant_id, type, status, priority, shard, items, answered, response_seconds, met, late)
SELECT tenant_id, type, status, priority, 0, count(*), count(acknowledged_at),
       coalesce(sum(extract(epoch FROM acknowledged_at - created_at)), 0),
       count(*) FILTER (WHERE acknowledged_at <= sla_due_at),
       count(*) FILTER (WHERE acknowledged_at > sla_due_at)
  FROM feedback GROUP BY 1, 2, 3, 4;
INSERT INTO feedback_assignee_counts (tenant_id, assignee_id, shard, open)
SELECT tenant_id, assignee_id, 0, count(*)
  FROM feedback WHERE assignee_id IS NOT NULL AND status NOT IN ('completed', 'declined', 'duplicate')
 GROUP BY 1, 2;
SELECT set_config('app.staff', '', true);
