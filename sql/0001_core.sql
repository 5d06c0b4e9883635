-- Tenants, API keys, feedback, votes, idempotency records and anonymous rate counters.
--
-- Tenancy: every tenant table has tenant_id, row-level security ENABLEd and FORCEd,
-- and policies with USING and WITH CHECK on the transaction-local settings
-- app.tenant_id (the caller's tenant) and app.staff ('on' for platform staff).
-- The service assumes the role pilot_feedback_app, which owns nothing and has
-- neither SUPERUSER nor BYPASSRLS. Lookups that must happen before the tenant is
-- known (API key, intake key, tenant existence) go through SECURITY DEFINER
-- functions that return only what authentication needs.

-- Roles are cluster-wide: another database of the cluster may have made it already.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pilot_feedback_app') THEN
        CREATE ROLE pilot_feedback_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- The caller's tenant, or NULL when none is set (NULL matches no row).
CREATE FUNCTION app_tenant_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE FUNCTION app_is_staff() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(current_setting('app.staff', true), '') = 'on' $$;

CREATE TABLE tenants (
    id              uuid PRIMARY KEY,
    name            varchar(200) NOT NULL CHECK (length(btrim(name)) > 0),
    intake_key_hash bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    role        varchar(20) NOT NULL CHECK (role IN ('member', 'admin', 'staff')),
    user_id     uuid,
    key_hash    bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at);

CREATE TABLE feedback (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    type             varchar(20) NOT NULL
                     CHECK (type IN ('bug', 'feature', 'performance', 'docs', 'ux', 'other')),
    summary          varchar(255) NOT NULL CHECK (length(btrim(summary)) > 0),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
    priority         varchar(20) NOT NULL DEFAULT 'medium'
                     CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    -- Sort key for ?sort=priority: urgent first.
    priority_rank    smallint GENERATED ALWAYS AS (
                         CASE priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3
                                       WHEN 'medium' THEN 2 ELSE 1 END) STORED,
    status           varchar(20) NOT NULL DEFAULT 'new'
                     CHECK (status IN ('new', 'acknowledged', 'in_review', 'planned',
                                       'in_progress', 'completed', 'declined', 'duplicate')),
    submitted_by     uuid,
    submitter_email  varchar(254),
    submitter_name   varchar(200),
    source           varchar(20) NOT NULL DEFAULT 'api'
                     CHECK (source IN ('web_app', 'cli', 'ide_plugin', 'email', 'api', 'other')),
    context          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(context) = 'object'),
    tags             jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tags) = 'array'),
    rating           int CHECK (rating BETWEEN 1 AND 5),
    github_issue_url varchar(500),
    public_response  text,
    vote_count       int NOT NULL DEFAULT 0 CHECK (vote_count >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    acknowledged_at  timestamptz,
    completed_at     timestamptz,
    search           tsvector GENERATED ALWAYS AS (
                         to_tsvector('english', summary || ' ' || description)) STORED,
    -- Target of the composite foreign keys of child rows.
    UNIQUE (tenant_id, id),
    CHECK (submitted_by IS NOT NULL OR submitter_email IS NOT NULL)
);

-- The guide's indexes led by tenant_id: (tenant_id, status) and its priority queue
-- (status, priority) as one, (tenant_id, type) widened so stats read one index
-- only; then the keyset orders of the list.
CREATE INDEX feedback_tenant_status_priority_idx ON feedback (tenant_id, status, priority);
CREATE INDEX feedback_tenant_type_status_idx ON feedback (tenant_id, type, status, priority);
CREATE INDEX feedback_tenant_created_idx ON feedback (tenant_id, created_at, id);
-- Staff read across tenants, newest first.
CREATE INDEX feedback_created_idx ON feedback (created_at, id);
CREATE INDEX feedback_tenant_votes_idx ON feedback (tenant_id, vote_count, created_at, id);
CREATE INDEX feedback_tenant_priority_idx ON feedback (tenant_id, priority_rank, created_at, id);
CREATE INDEX feedback_tenant_submitter_idx ON feedback (tenant_id, submitted_by, created_at, id);
-- Average response time for stats without touching the heap.
CREATE INDEX feedback_tenant_acknowledged_idx ON feedback (tenant_id)
    INCLUDE (created_at, acknowledged_at) WHERE acknowledged_at IS NOT NULL;
CREATE INDEX feedback_search_idx ON feedback USING gin (search);
CREATE INDEX feedback_tags_idx ON feedback USING gin (tags jsonb_path_ops);

CREATE TABLE votes (
    tenant_id   uuid NOT NULL,
    feedback_id uuid NOT NULL,
    user_id     uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, feedback_id, user_id),
    FOREIGN KEY (tenant_id, feedback_id) REFERENCES feedback (tenant_id, id) ON DELETE CASCADE
);

-- vote_count follows the vote rows in the same transaction, whatever code path writes them.
CREATE FUNCTION votes_maintain_count() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE feedback SET vote_count = vote_count + 1
         WHERE tenant_id = NEW.tenant_id AND id = NEW.feedback_id;
        RETURN NEW;
    END IF;
    UPDATE feedback SET vote_count = vote_count - 1
     WHERE tenant_id = OLD.tenant_id AND id = OLD.feedback_id;
    RETURN OLD;
END
$$;

CREATE TRIGGER votes_count AFTER INSERT OR DELETE ON votes
    FOR EACH ROW EXECUTE FUNCTION votes_maintain_count();

CREATE TABLE idempotency_keys (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    -- Who sent it: an API key id, a JWT subject or an anonymous submitter's email.
    principal       varchar(300) NOT NULL,
    key             varchar(255) NOT NULL,
    request_hash    bytea NOT NULL,
    response_status int NOT NULL,
    response_body   text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, principal, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (tenant_id, created_at);

CREATE TABLE rate_counters (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    bucket       varchar(300) NOT NULL,
    window_start timestamptz NOT NULL,
    hits         int NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, bucket, window_start)
);

-- Row-level security on every tenant table.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
-- The settings are read through scalar subqueries so that each query evaluates
-- them once (an InitPlan), not once per row.
CREATE POLICY tenant_isolation ON tenants
    USING (id = (SELECT app_tenant_id()) OR (SELECT app_is_staff()))
    WITH CHECK (id = (SELECT app_tenant_id()));

-- Isolates a table by its tenant_id column; every later tenant table goes through it.
CREATE FUNCTION guard_tenant_table(t regclass) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s '
        'USING (tenant_id = (SELECT app_tenant_id()) OR (SELECT app_is_staff())) '
        'WITH CHECK (tenant_id = (SELECT app_tenant_id()) OR (SELECT app_is_staff()))', t);
END
$$;
REVOKE ALL ON FUNCTION guard_tenant_table(regclass) FROM PUBLIC;

SELECT guard_tenant_table(t)
  FROM unnest(ARRAY['api_keys', 'feedback', 'votes', 'idempotency_keys', 'rate_counters']::regclass[]) AS t;

-- The owner (who runs migrations and defines the lookup functions below) may read
-- keys and tenants; FORCE would otherwise hide them from the definer functions too.
CREATE POLICY owner_lookup ON api_keys FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY owner_lookup ON tenants FOR SELECT TO CURRENT_USER USING (true);

-- Authentication lookups, run before the tenant is known. Each returns only what
-- the caller needs to set its tenant.
CREATE FUNCTION auth_api_key(p_key_hash bytea)
RETURNS TABLE (key_id uuid, tenant_id uuid, role varchar, user_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    SELECT k.id, k.tenant_id, k.role, k.user_id
      FROM api_keys k
     WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
$$;

CREATE FUNCTION auth_intake_key(p_key_hash bytea) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$ SELECT t.id FROM tenants t WHERE t.intake_key_hash = p_key_hash $$;

CREATE FUNCTION auth_tenant_exists(p_tenant_id uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$ SELECT EXISTS (SELECT 1 FROM tenants t WHERE t.id = p_tenant_id) $$;

REVOKE ALL ON FUNCTION auth_api_key(bytea), auth_intake_key(bytea), auth_tenant_exists(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_api_key(bytea), auth_intake_key(bytea), auth_tenant_exists(uuid)
    TO pilot_feedback_app;

-- What the service may do: no DELETE of feedback, no access to key hashes.
GRANT USAGE ON SCHEMA public TO pilot_feedback_app;
GRANT SELECT (id, name, created_at) ON tenants TO pilot_feedback_app;
GRANT SELECT, INSERT, UPDATE ON feedback TO pilot_feedback_app;
GRANT SELECT, INSERT, DELETE ON votes TO pilot_feedback_app;
GRANT SELECT, INSERT ON idempotency_keys TO pilot_feedback_app;
GRANT SELECT, INSERT, UPDATE ON rate_counters TO pilot_feedback_app;
