-- The outbox: what a change must cause outside the database (a mail to the
-- submitter, a GitHub issue) is written as a row in the change's own transaction,
-- published after commit, and delivered by the function that takes its kind.
-- A row is done once (sent, skipped or dead); until then the sweep publishes it
-- again, and a failed attempt defers the next one (backoff, or a rate limit's reset).
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       uuid NOT NULL,
    feedback_id     uuid NOT NULL,
    kind            varchar(40) NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts        integer NOT NULL DEFAULT 0,
    -- No delivery tries before this (a failure's backoff, a rate limit's reset).
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- When the sweep may publish it (again): the publish after commit comes first.
    sweep_after     timestamptz NOT NULL DEFAULT clock_timestamp() + interval '1 minute',
    last_error      text CHECK (length(last_error) <= 2000),
    done_at         timestamptz,
    outcome         varchar(20) CHECK (outcome IN ('sent', 'skipped', 'dead')),
    CONSTRAINT outbox_done_has_outcome CHECK ((done_at IS NULL) = (outcome IS NULL)),
    FOREIGN KEY (tenant_id, feedback_id) REFERENCES feedback (tenant_id, id)
);
-- The sweep reads what is due across tenants; delivery reads a row by id.
CREATE INDEX outbox_due_idx ON outbox (sweep_after) WHERE done_at IS NULL;
CREATE INDEX outbox_item_idx ON outbox (tenant_id, feedback_id);

-- Submitters who asked for no more mail about their feedback, per tenant.
CREATE TABLE mail_opt_outs (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    email      varchar(254) NOT NULL CHECK (email = lower(email)),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, email)
);

SELECT guard_tenant_table('outbox'), guard_tenant_table('mail_opt_outs');

-- Delivery records its attempts and the outcome; nothing is ever deleted.
GRANT SELECT, INSERT ON outbox, mail_opt_outs TO pilot_feedback_app;
GRANT UPDATE (attempts, next_attempt_at, sweep_after, last_error, done_at, outcome) ON outbox TO pilot_feedback_app;

-- Keys the service signs links with (the opt-out link in mails). Made here from
-- the server's strong random source, so a deployment needs no extra secret.
CREATE TABLE signing_keys (
    name varchar(40) PRIMARY KEY,
    key  bytea NOT NULL CHECK (length(key) = 32)
);
INSERT INTO signing_keys (name, key)
VALUES ('mail_link', sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')));
GRANT SELECT ON signing_keys TO pilot_feedback_app;
