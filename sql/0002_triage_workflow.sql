-- Triage: the status workflow's extra fields, response SLAs and an append-only audit trail.

ALTER TABLE feedback
    ADD COLUMN decline_reason text CHECK (length(decline_reason) <= 2000),
    ADD COLUMN duplicate_of uuid,
    ADD CONSTRAINT feedback_duplicate_of_fk
        FOREIGN KEY (tenant_id, duplicate_of) REFERENCES feedback (tenant_id, id),
    ADD CONSTRAINT feedback_duplicate_not_self CHECK (duplicate_of <> id),
    ADD CONSTRAINT feedback_duplicate_status
        CHECK ((status = 'duplicate') = (duplicate_of IS NOT NULL)),
    ADD CONSTRAINT feedback_public_response_size CHECK (length(public_response) <= 10000),
    -- The team member working on it: a user id, an email, or both.
    ADD COLUMN assignee_id uuid,
    ADD COLUMN assignee_email varchar(254),
    -- When the first response is due (computed by the service from priority and business days).
    ADD COLUMN sla_due_at timestamptz;

-- Rows from before SLAs get calendar-day approximations of their due times.
UPDATE feedback SET sla_due_at = created_at + CASE priority
    WHEN 'urgent' THEN interval '4 hours' WHEN 'high' THEN interval '1 day'
    WHEN 'medium' THEN interval '3 days' ELSE interval '5 days' END;
ALTER TABLE feedback ALTER COLUMN sla_due_at SET NOT NULL;

-- The triage queue: what is due first.
CREATE INDEX feedback_tenant_sla_idx ON feedback (tenant_id, sla_due_at, id);

-- Triage stats, response times and SLA figures included, from one index-only scan.
DROP INDEX feedback_tenant_type_status_idx;
CREATE INDEX feedback_tenant_stats_idx ON feedback (tenant_id, type, status, priority)
    INCLUDE (created_at, acknowledged_at, sla_due_at);
-- Open items per assignee, read in assignee order.
CREATE INDEX feedback_tenant_open_assignee_idx ON feedback (tenant_id, assignee_id)
    WHERE status NOT IN ('completed', 'declined', 'duplicate');

-- met / breached once answered (the first move out of NEW answers); before that
-- breached, due_soon (the last quarter of the window) or on_track.
CREATE FUNCTION sla_status(due timestamptz, answered timestamptz, created timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN answered IS NOT NULL THEN CASE WHEN answered <= due THEN 'met' ELSE 'breached' END
        WHEN now() > due THEN 'breached'
        WHEN now() >= due - (due - created) / 4 THEN 'due_soon'
        ELSE 'on_track'
    END
$$;

-- Internal notes: the team's, never shown to members or submitters.
CREATE TABLE feedback_notes (
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL,
    feedback_id uuid NOT NULL,
    author      varchar(300) NOT NULL,
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, feedback_id, id),
    FOREIGN KEY (tenant_id, feedback_id) REFERENCES feedback (tenant_id, id)
);

-- Every change to an item, with who made it and the values before and after,
-- written in the transaction of the change itself.
CREATE TABLE feedback_audit (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id   uuid NOT NULL,
    feedback_id uuid NOT NULL,
    actor       varchar(300) NOT NULL,
    actor_role  varchar(20) NOT NULL,
    action      varchar(40) NOT NULL,
    old_value   jsonb,
    new_value   jsonb,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, feedback_id, id),
    FOREIGN KEY (tenant_id, feedback_id) REFERENCES feedback (tenant_id, id)
);

SELECT guard_tenant_table('feedback_notes'), guard_tenant_table('feedback_audit');

-- Append-only for the service: it may add and read notes and audit rows, never
-- change or remove them.
GRANT SELECT, INSERT ON feedback_notes, feedback_audit TO pilot_feedback_app;
