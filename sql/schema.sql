-- The schema sql/NNNN_*.sql produce, dumped by `python manage.py schema`: read it, never edit or apply it.

CREATE TYPE public.feedback_count_change AS (
	tenant_id uuid,
	type character varying(20),
	status character varying(20),
	priority character varying(20),
	assignee_id uuid,
	seconds numeric,
	in_time boolean,
	sign integer
);

CREATE FUNCTION public.app_is_staff() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('app.staff', true), '') = 'on' $$;

CREATE FUNCTION public.app_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE FUNCTION public.auth_api_key(p_key_hash bytea) RETURNS TABLE(key_id uuid, tenant_id uuid, role character varying, user_id uuid, label character varying)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT k.id, k.tenant_id, k.role, k.user_id, k.label
      FROM api_keys k
     WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
       AND (k.expires_at IS NULL OR k.expires_at > now())
$$;

CREATE FUNCTION public.auth_intake_key(p_key_hash bytea) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$ SELECT t.id FROM tenants t WHERE t.intake_key_hash = p_key_hash $$;

CREATE FUNCTION public.auth_intake_origins(p_key_hash bytea) RETURNS TABLE(tenant_id uuid, allowed_origins text[])
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$ SELECT t.id, t.allowed_origins FROM tenants t WHERE t.intake_key_hash = p_key_hash $$;

CREATE FUNCTION public.auth_person_by_email(p_email text) RETURNS TABLE(person_id uuid, tenant_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$ SELECT p.id, p.tenant_id FROM people p WHERE p.email = lower(p_email) AND p.removed_at IS NULL $$;

CREATE FUNCTION public.auth_session(p_id_hash bytea) RETURNS TABLE(person_id uuid, tenant_id uuid, role character varying, email character varying, name character varying)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT p.id, p.tenant_id, p.role, p.email, p.name
      FROM console_sessions s JOIN people p ON p.id = s.person_id
     WHERE s.id_hash = p_id_hash AND s.ended_at IS NULL AND s.expires_at > now() AND p.removed_at IS NULL
$$;

CREATE FUNCTION public.auth_signin_link(p_token_hash bytea) RETURNS TABLE(person_id uuid, tenant_id uuid)
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    UPDATE signin_links l SET used_at = clock_timestamp()
      FROM people p
     WHERE l.token_hash = p_token_hash AND l.used_at IS NULL AND l.expires_at > clock_timestamp()
       AND p.id = l.person_id AND p.removed_at IS NULL
    RETURNING l.person_id, l.tenant_id
$$;

CREATE FUNCTION public.auth_tenant_exists(p_tenant_id uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$ SELECT EXISTS (SELECT 1 FROM tenants t WHERE t.id = p_tenant_id) $$;

CREATE FUNCTION public.count_feedback(changes public.feedback_count_change[]) RETURNS void
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

CREATE TABLE public.feedback (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    type character varying(20) NOT NULL,
    summary character varying(255) NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    priority character varying(20) DEFAULT 'medium'::character varying NOT NULL,
    priority_rank smallint GENERATED ALWAYS AS (
CASE priority
    WHEN 'urgent'::text THEN 4
    WHEN 'high'::text THEN 3
    WHEN 'medium'::text THEN 2
    ELSE 1
END) STORED,
    status character varying(20) DEFAULT 'new'::character varying NOT NULL,
    submitted_by uuid,
    submitter_email character varying(254),
    submitter_name character varying(200),
    source character varying(20) DEFAULT 'api'::character varying NOT NULL,
    context jsonb DEFAULT '{}'::jsonb NOT NULL,
    tags jsonb DEFAULT '[]'::jsonb NOT NULL,
    rating integer,
    github_issue_url character varying(500),
    public_response text,
    vote_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    acknowledged_at timestamp with time zone,
    completed_at timestamp with time zone,
    search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, (((summary)::text || ' '::text) || description))) STORED,
    decline_reason text,
    duplicate_of uuid,
    assignee_id uuid,
    assignee_email character varying(254),
    sla_due_at timestamp with time zone NOT NULL,
    github_sync_error text,
    github_updated_at timestamp with time zone,
    erased_at timestamp with time zone,
    CONSTRAINT feedback_context_check CHECK ((jsonb_typeof(context) = 'object'::text)),
    CONSTRAINT feedback_decline_reason_check CHECK ((length(decline_reason) <= 2000)),
    CONSTRAINT feedback_description_check CHECK ((length(description) <= 20000)),
    CONSTRAINT feedback_duplicate_not_self CHECK ((duplicate_of <> id)),
    CONSTRAINT feedback_duplicate_status CHECK ((((status)::text = 'duplicate'::text) = (duplicate_of IS NOT NULL))),
    CONSTRAINT feedback_github_sync_error_check CHECK ((length(github_sync_error) <= 2000)),
    CONSTRAINT feedback_has_submitter CHECK (((submitted_by IS NOT NULL) OR (submitter_email IS NOT NULL) OR (erased_at IS NOT NULL))),
    CONSTRAINT feedback_priority_check CHECK (((priority)::text = ANY ((ARRAY['low'::character varying, 'medium'::character varying, 'high'::character varying, 'urgent'::character varying])::text[]))),
    CONSTRAINT feedback_public_response_size CHECK ((length(public_response) <= 10000)),
    CONSTRAINT feedback_rating_check CHECK (((rating >= 1) AND (rating <= 5))),
    CONSTRAINT feedback_source_check CHECK (((source)::text = ANY ((ARRAY['web_app'::character varying, 'cli'::character varying, 'ide_plugin'::character varying, 'email'::character varying, 'api'::character varying, 'other'::character varying])::text[]))),
    CONSTRAINT feedback_status_check CHECK (((status)::text = ANY ((ARRAY['new'::character varying, 'acknowledged'::character varying, 'in_review'::character varying, 'planned'::character varying, 'in_progress'::character varying, 'completed'::character varying, 'declined'::character varying, 'duplicate'::character varying])::text[]))),
    CONSTRAINT feedback_summary_check CHECK ((length(btrim((summary)::text)) > 0)),
    CONSTRAINT feedback_tags_check CHECK ((jsonb_typeof(tags) = 'array'::text)),
    CONSTRAINT feedback_type_check CHECK (((type)::text = ANY ((ARRAY['bug'::character varying, 'feature'::character varying, 'performance'::character varying, 'docs'::character varying, 'ux'::character varying, 'other'::character varying])::text[]))),
    CONSTRAINT feedback_vote_count_check CHECK ((vote_count >= 0))
);

ALTER TABLE ONLY public.feedback FORCE ROW LEVEL SECURITY;

CREATE FUNCTION public.feedback_count_change(f public.feedback, sign integer) RETURNS public.feedback_count_change
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT ROW(f.tenant_id, f.type, f.status, f.priority, f.assignee_id,
               extract(epoch FROM f.acknowledged_at - f.created_at), f.acknowledged_at <= f.sla_due_at,
               sign)::feedback_count_change
$$;

CREATE FUNCTION public.feedback_counts_follow() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
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

CREATE FUNCTION public.guard_tenant_table(t regclass) RETURNS void
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

CREATE FUNCTION public.intake_tenant(p_slug text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$ SELECT t.id FROM tenants t WHERE t.slug = lower(p_slug) $$;

CREATE FUNCTION public.mailgun_token_fresh(p_token text, p_digest bytea, p_expires_at timestamp with time zone) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    DELETE FROM mailgun_tokens WHERE expires_at < clock_timestamp();
    INSERT INTO mailgun_tokens (token, digest, expires_at) VALUES (p_token, p_digest, p_expires_at)
    ON CONFLICT (token) DO NOTHING;
    RETURN (SELECT t.digest = p_digest FROM mailgun_tokens t WHERE t.token = p_token);
END
$$;

CREATE FUNCTION public.purge_expired(idempotency_hours integer, retention_days integer, batch integer) RETURNS TABLE(what text, purged bigint)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
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

CREATE FUNCTION public.sla_status(due timestamp with time zone, answered timestamp with time zone, created timestamp with time zone) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT CASE
        WHEN answered IS NOT NULL THEN CASE WHEN answered <= due THEN 'met' ELSE 'breached' END
        WHEN now() > due THEN 'breached'
        WHEN now() >= due - (due - created) / 4 THEN 'due_soon'
        ELSE 'on_track'
    END
$$;

CREATE FUNCTION public.votes_maintain_count() RETURNS trigger
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

CREATE TABLE public.api_keys (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    role character varying(20) NOT NULL,
    user_id uuid,
    key_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    label character varying(200),
    expires_at timestamp with time zone,
    CONSTRAINT api_keys_label_check CHECK ((length(btrim((label)::text)) > 0)),
    CONSTRAINT api_keys_role_check CHECK (((role)::text = ANY ((ARRAY['member'::character varying, 'admin'::character varying, 'staff'::character varying])::text[])))
);

ALTER TABLE ONLY public.api_keys FORCE ROW LEVEL SECURITY;

CREATE TABLE public.console_sessions (
    id_hash bytea NOT NULL,
    tenant_id uuid NOT NULL,
    person_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    message text
);

ALTER TABLE ONLY public.console_sessions FORCE ROW LEVEL SECURITY;

CREATE TABLE public.feedback_assignee_counts (
    tenant_id uuid NOT NULL,
    assignee_id uuid NOT NULL,
    shard smallint NOT NULL,
    open bigint NOT NULL
);

ALTER TABLE ONLY public.feedback_assignee_counts FORCE ROW LEVEL SECURITY;

CREATE TABLE public.feedback_audit (
    id bigint NOT NULL,
    tenant_id uuid NOT NULL,
    feedback_id uuid NOT NULL,
    actor character varying(300) NOT NULL,
    actor_role character varying(20) NOT NULL,
    action character varying(40) NOT NULL,
    old_value jsonb,
    new_value jsonb,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

ALTER TABLE ONLY public.feedback_audit FORCE ROW LEVEL SECURITY;

ALTER TABLE public.feedback_audit ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.feedback_audit_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.feedback_counts (
    tenant_id uuid NOT NULL,
    type character varying(20) NOT NULL,
    status character varying(20) NOT NULL,
    priority character varying(20) NOT NULL,
    shard smallint NOT NULL,
    items bigint NOT NULL,
    answered bigint NOT NULL,
    response_seconds numeric NOT NULL,
    met bigint NOT NULL,
    late bigint NOT NULL
);

ALTER TABLE ONLY public.feedback_counts FORCE ROW LEVEL SECURITY;

CREATE TABLE public.feedback_notes (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    feedback_id uuid NOT NULL,
    author character varying(300) NOT NULL,
    body text NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT feedback_notes_body_check CHECK (((length(body) >= 1) AND (length(body) <= 10000)))
);

ALTER TABLE ONLY public.feedback_notes FORCE ROW LEVEL SECURITY;

CREATE TABLE public.github_deliveries (
    delivery_id character varying(100) NOT NULL,
    received_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

CREATE TABLE public.idempotency_keys (
    tenant_id uuid NOT NULL,
    principal character varying(300) NOT NULL,
    key character varying(255) NOT NULL,
    request_hash bytea NOT NULL,
    response_status integer NOT NULL,
    response_body text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY public.idempotency_keys FORCE ROW LEVEL SECURITY;

CREATE TABLE public.inbound_mails (
    tenant_id uuid NOT NULL,
    message_id character varying(998) NOT NULL,
    feedback_id uuid NOT NULL,
    outcome character varying(10) NOT NULL,
    received_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT inbound_mails_outcome_check CHECK (((outcome)::text = ANY ((ARRAY['created'::character varying, 'reply'::character varying])::text[])))
);

ALTER TABLE ONLY public.inbound_mails FORCE ROW LEVEL SECURITY;

CREATE TABLE public.mail_bounces (
    tenant_id uuid NOT NULL,
    email character varying(320) NOT NULL,
    status character varying(20),
    diagnostic character varying(500),
    bounced_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);

ALTER TABLE ONLY public.mail_bounces FORCE ROW LEVEL SECURITY;

CREATE TABLE public.mail_opt_outs (
    tenant_id uuid NOT NULL,
    email character varying(254) NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    CONSTRAINT mail_opt_outs_email_check CHECK (((email)::text = lower((email)::text)))
);

ALTER TABLE ONLY public.mail_opt_outs FORCE ROW LEVEL SECURITY;

CREATE TABLE public.mailgun_tokens (
    token character varying(200) NOT NULL,
    digest bytea NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE public.outbox (
    id bigint NOT NULL,
    tenant_id uuid,
    feedback_id uuid,
    kind character varying(40) NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    sweep_after timestamp with time zone DEFAULT (clock_timestamp() + '00:01:00'::interval) NOT NULL,
    last_error text,
    done_at timestamp with time zone,
    outcome character varying(20),
    CONSTRAINT outbox_done_has_outcome CHECK (((done_at IS NULL) = (outcome IS NULL))),
    CONSTRAINT outbox_last_error_check CHECK ((length(last_error) <= 2000)),
    CONSTRAINT outbox_outcome_check CHECK (((outcome)::text = ANY ((ARRAY['sent'::character varying, 'skipped'::character varying, 'dead'::character varying])::text[])))
);

ALTER TABLE ONLY public.outbox FORCE ROW LEVEL SECURITY;

ALTER TABLE public.outbox ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE public.people (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    tenant_id uuid NOT NULL,
    email character varying(254) NOT NULL,
    name character varying(200) NOT NULL,
    role character varying(10) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    alerts boolean DEFAULT true NOT NULL,
    digest boolean DEFAULT true NOT NULL,
    last_digest_at timestamp with time zone,
    removed_at timestamp with time zone,
    CONSTRAINT people_email_check CHECK ((((email)::text = lower((email)::text)) AND (POSITION(('@'::text) IN (email)) > 1))),
    CONSTRAINT people_name_check CHECK ((length(btrim((name)::text)) > 0)),
    CONSTRAINT people_role_check CHECK (((role)::text = ANY ((ARRAY['admin'::character varying, 'staff'::character varying])::text[])))
);

ALTER TABLE ONLY public.people FORCE ROW LEVEL SECURITY;

CREATE TABLE public.rate_counters (
    tenant_id uuid NOT NULL,
    bucket character varying(300) NOT NULL,
    window_start timestamp with time zone NOT NULL,
    hits integer DEFAULT 0 NOT NULL
);

ALTER TABLE ONLY public.rate_counters FORCE ROW LEVEL SECURITY;

CREATE TABLE public.schema_migrations (
    version character varying(4) NOT NULL,
    name text NOT NULL,
    checksum character varying(64) NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.signin_links (
    token_hash bytea NOT NULL,
    tenant_id uuid NOT NULL,
    person_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone
);

ALTER TABLE ONLY public.signin_links FORCE ROW LEVEL SECURITY;

CREATE TABLE public.signin_throttle (
    bucket character varying(100) NOT NULL,
    window_start timestamp with time zone NOT NULL,
    hits integer DEFAULT 0 NOT NULL
);

CREATE TABLE public.signing_keys (
    name character varying(40) NOT NULL,
    key bytea NOT NULL,
    created_at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    retired_at timestamp with time zone,
    CONSTRAINT signing_keys_key_check CHECK ((length(key) = 32))
);

CREATE TABLE public.tenants (
    id uuid NOT NULL,
    name character varying(200) NOT NULL,
    intake_key_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    github_repository character varying(200),
    anonymous_priority boolean DEFAULT false NOT NULL,
    allowed_origins text[] DEFAULT '{}'::text[] NOT NULL,
    slug character varying(63) NOT NULL,
    alert_high boolean DEFAULT false NOT NULL,
    time_zone character varying(64),
    status_link_days integer,
    CONSTRAINT tenants_allowed_origins_check CHECK ((cardinality(allowed_origins) <= 50)),
    CONSTRAINT tenants_github_repository_check CHECK (((github_repository)::text ~ '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$'::text)),
    CONSTRAINT tenants_name_check CHECK ((length(btrim((name)::text)) > 0)),
    CONSTRAINT tenants_slug_check CHECK (((slug)::text ~ '^[a-z0-9]+(-[a-z0-9]+)*$'::text)),
    CONSTRAINT tenants_status_link_days_check CHECK (((status_link_days >= 1) AND (status_link_days <= 3650)))
);

ALTER TABLE ONLY public.tenants FORCE ROW LEVEL SECURITY;

CREATE TABLE public.votes (
    tenant_id uuid NOT NULL,
    feedback_id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY public.votes FORCE ROW LEVEL SECURITY;

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_pkey PRIMARY KEY (id_hash);

ALTER TABLE ONLY public.feedback_assignee_counts
    ADD CONSTRAINT feedback_assignee_counts_pkey PRIMARY KEY (tenant_id, assignee_id, shard);

ALTER TABLE ONLY public.feedback_audit
    ADD CONSTRAINT feedback_audit_pkey PRIMARY KEY (tenant_id, feedback_id, id);

ALTER TABLE ONLY public.feedback_counts
    ADD CONSTRAINT feedback_counts_pkey PRIMARY KEY (tenant_id, type, status, priority, shard);

ALTER TABLE ONLY public.feedback_notes
    ADD CONSTRAINT feedback_notes_pkey PRIMARY KEY (tenant_id, feedback_id, id);

ALTER TABLE ONLY public.feedback
    ADD CONSTRAINT feedback_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.feedback
    ADD CONSTRAINT feedback_tenant_id_id_key UNIQUE (tenant_id, id);

ALTER TABLE ONLY public.github_deliveries
    ADD CONSTRAINT github_deliveries_pkey PRIMARY KEY (delivery_id);

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (tenant_id, principal, key);

ALTER TABLE ONLY public.inbound_mails
    ADD CONSTRAINT inbound_mails_pkey PRIMARY KEY (tenant_id, message_id);

ALTER TABLE ONLY public.mail_bounces
    ADD CONSTRAINT mail_bounces_pkey PRIMARY KEY (tenant_id, email);

ALTER TABLE ONLY public.mail_opt_outs
    ADD CONSTRAINT mail_opt_outs_pkey PRIMARY KEY (tenant_id, email);

ALTER TABLE ONLY public.mailgun_tokens
    ADD CONSTRAINT mailgun_tokens_pkey PRIMARY KEY (token);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.people
    ADD CONSTRAINT people_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.rate_counters
    ADD CONSTRAINT rate_counters_pkey PRIMARY KEY (tenant_id, bucket, window_start);

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.signin_links
    ADD CONSTRAINT signin_links_pkey PRIMARY KEY (token_hash);

ALTER TABLE ONLY public.signin_throttle
    ADD CONSTRAINT signin_throttle_pkey PRIMARY KEY (bucket, window_start);

ALTER TABLE ONLY public.signing_keys
    ADD CONSTRAINT signing_keys_pkey PRIMARY KEY (name);

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_intake_key_hash_key UNIQUE (intake_key_hash);

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_slug_key UNIQUE (slug);

ALTER TABLE ONLY public.votes
    ADD CONSTRAINT votes_pkey PRIMARY KEY (tenant_id, feedback_id, user_id);

CREATE INDEX api_keys_tenant_idx ON public.api_keys USING btree (tenant_id, created_at);

CREATE INDEX console_sessions_age_idx ON public.console_sessions USING btree (expires_at);

CREATE INDEX feedback_audit_github_issue_idx ON public.feedback_audit USING btree (tenant_id, created_at) WHERE ((action)::text = 'github_issue'::text);

CREATE INDEX feedback_created_idx ON public.feedback USING btree (created_at, id);

CREATE INDEX feedback_github_issue_idx ON public.feedback USING btree (lower((github_issue_url)::text)) WHERE (github_issue_url IS NOT NULL);

CREATE INDEX feedback_search_idx ON public.feedback USING gin (search);

CREATE INDEX feedback_tags_idx ON public.feedback USING gin (tags jsonb_path_ops);

CREATE INDEX feedback_tenant_acknowledged_idx ON public.feedback USING btree (tenant_id) INCLUDE (created_at, acknowledged_at) WHERE (acknowledged_at IS NOT NULL);

CREATE INDEX feedback_tenant_created_idx ON public.feedback USING btree (tenant_id, created_at, id);

CREATE INDEX feedback_tenant_open_assignee_idx ON public.feedback USING btree (tenant_id, assignee_id) WHERE ((status)::text <> ALL ((ARRAY['completed'::character varying, 'declined'::character varying, 'duplicate'::character varying])::text[]));

CREATE INDEX feedback_tenant_priority_idx ON public.feedback USING btree (tenant_id, priority_rank, created_at, id);

CREATE INDEX feedback_tenant_sla_idx ON public.feedback USING btree (tenant_id, sla_due_at, id);

CREATE INDEX feedback_tenant_stats_idx ON public.feedback USING btree (tenant_id, type, status, priority) INCLUDE (created_at, acknowledged_at, sla_due_at);

CREATE INDEX feedback_tenant_status_priority_idx ON public.feedback USING btree (tenant_id, status, priority);

CREATE INDEX feedback_tenant_submitter_idx ON public.feedback USING btree (tenant_id, submitted_by, created_at, id);

CREATE INDEX feedback_tenant_unanswered_idx ON public.feedback USING btree (tenant_id, sla_due_at) INCLUDE (type, status, priority) WHERE (acknowledged_at IS NULL);

CREATE INDEX feedback_tenant_votes_idx ON public.feedback USING btree (tenant_id, vote_count, created_at, id);

CREATE INDEX github_deliveries_age_idx ON public.github_deliveries USING btree (received_at);

CREATE INDEX idempotency_keys_age_idx ON public.idempotency_keys USING btree (created_at);

CREATE INDEX idempotency_keys_created_idx ON public.idempotency_keys USING btree (tenant_id, created_at);

CREATE INDEX inbound_mails_age_idx ON public.inbound_mails USING btree (received_at);

CREATE INDEX mailgun_tokens_expiry_idx ON public.mailgun_tokens USING btree (expires_at);

CREATE INDEX outbox_done_idx ON public.outbox USING btree (done_at) WHERE (done_at IS NOT NULL);

CREATE INDEX outbox_due_idx ON public.outbox USING btree (sweep_after) WHERE (done_at IS NULL);

CREATE INDEX outbox_item_idx ON public.outbox USING btree (tenant_id, feedback_id);

CREATE UNIQUE INDEX people_email_idx ON public.people USING btree (email) WHERE (removed_at IS NULL);

CREATE INDEX people_tenant_idx ON public.people USING btree (tenant_id, name);

CREATE INDEX rate_counters_age_idx ON public.rate_counters USING btree (window_start);

CREATE INDEX signin_links_age_idx ON public.signin_links USING btree (expires_at);

CREATE INDEX signin_links_person_idx ON public.signin_links USING btree (tenant_id, person_id, created_at);

CREATE INDEX signin_throttle_age_idx ON public.signin_throttle USING btree (window_start);

CREATE TRIGGER feedback_counts_delete AFTER DELETE ON public.feedback REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.feedback_counts_follow();

CREATE TRIGGER feedback_counts_insert AFTER INSERT ON public.feedback REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.feedback_counts_follow();

CREATE TRIGGER feedback_counts_truncate AFTER TRUNCATE ON public.feedback FOR EACH STATEMENT EXECUTE FUNCTION public.feedback_counts_follow();

CREATE TRIGGER feedback_counts_update AFTER UPDATE ON public.feedback REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.feedback_counts_follow();

CREATE TRIGGER votes_count AFTER INSERT OR DELETE ON public.votes FOR EACH ROW EXECUTE FUNCTION public.votes_maintain_count();

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.people(id);

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.feedback_assignee_counts
    ADD CONSTRAINT feedback_assignee_counts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.feedback_audit
    ADD CONSTRAINT feedback_audit_tenant_id_feedback_id_fkey FOREIGN KEY (tenant_id, feedback_id) REFERENCES public.feedback(tenant_id, id);

ALTER TABLE ONLY public.feedback_counts
    ADD CONSTRAINT feedback_counts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.feedback
    ADD CONSTRAINT feedback_duplicate_of_fk FOREIGN KEY (tenant_id, duplicate_of) REFERENCES public.feedback(tenant_id, id);

ALTER TABLE ONLY public.feedback_notes
    ADD CONSTRAINT feedback_notes_tenant_id_feedback_id_fkey FOREIGN KEY (tenant_id, feedback_id) REFERENCES public.feedback(tenant_id, id);

ALTER TABLE ONLY public.feedback
    ADD CONSTRAINT feedback_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.idempotency_keys
    ADD CONSTRAINT idempotency_keys_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.inbound_mails
    ADD CONSTRAINT inbound_mails_tenant_id_feedback_id_fkey FOREIGN KEY (tenant_id, feedback_id) REFERENCES public.feedback(tenant_id, id);

ALTER TABLE ONLY public.inbound_mails
    ADD CONSTRAINT inbound_mails_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.mail_bounces
    ADD CONSTRAINT mail_bounces_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.mail_opt_outs
    ADD CONSTRAINT mail_opt_outs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_tenant_id_feedback_id_fkey FOREIGN KEY (tenant_id, feedback_id) REFERENCES public.feedback(tenant_id, id);

ALTER TABLE ONLY public.people
    ADD CONSTRAINT people_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.rate_counters
    ADD CONSTRAINT rate_counters_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.signin_links
    ADD CONSTRAINT signin_links_person_id_fkey FOREIGN KEY (person_id) REFERENCES public.people(id);

ALTER TABLE ONLY public.signin_links
    ADD CONSTRAINT signin_links_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(id);

ALTER TABLE ONLY public.votes
    ADD CONSTRAINT votes_tenant_id_feedback_id_fkey FOREIGN KEY (tenant_id, feedback_id) REFERENCES public.feedback(tenant_id, id) ON DELETE CASCADE;

ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.console_sessions ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.feedback ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.feedback_assignee_counts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.feedback_audit ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.feedback_counts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.feedback_notes ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.idempotency_keys ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.inbound_mails ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.mail_bounces ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.mail_opt_outs ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.outbox ENABLE ROW LEVEL SECURITY;

CREATE POLICY owner_lookup ON public.api_keys FOR SELECT TO postgres USING (true);

CREATE POLICY owner_lookup ON public.console_sessions FOR SELECT TO postgres USING (true);

CREATE POLICY owner_lookup ON public.people FOR SELECT TO postgres USING (true);

CREATE POLICY owner_lookup ON public.signin_links FOR SELECT TO postgres USING (true);

CREATE POLICY owner_lookup ON public.tenants FOR SELECT TO postgres USING (true);

CREATE POLICY owner_use ON public.signin_links FOR UPDATE TO postgres USING (true);

ALTER TABLE public.people ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.rate_counters ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.signin_links ENABLE ROW LEVEL SECURITY;

CREATE POLICY signin_request ON public.outbox FOR INSERT TO pilot_feedback_app WITH CHECK (((tenant_id IS NULL) AND (feedback_id IS NULL) AND ((kind)::text = 'mail'::text) AND ((payload ->> 'notice'::text) = 'signin_request'::text)));

CREATE POLICY signin_request_returned ON public.outbox FOR SELECT TO pilot_feedback_app USING (((tenant_id IS NULL) AND (feedback_id IS NULL) AND ((kind)::text = 'mail'::text) AND ((payload ->> 'notice'::text) = 'signin_request'::text)));

CREATE POLICY tenant_isolation ON public.api_keys USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.console_sessions USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.feedback USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.feedback_assignee_counts USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.feedback_audit USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.feedback_counts USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.feedback_notes USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.idempotency_keys USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.inbound_mails USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.mail_bounces USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.mail_opt_outs USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.outbox USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.people USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.rate_counters USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.signin_links USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

CREATE POLICY tenant_isolation ON public.tenants USING (((id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK ((id = ( SELECT public.app_tenant_id() AS app_tenant_id)));

CREATE POLICY tenant_isolation ON public.votes USING (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff))) WITH CHECK (((tenant_id = ( SELECT public.app_tenant_id() AS app_tenant_id)) OR ( SELECT public.app_is_staff() AS app_is_staff)));

ALTER TABLE public.tenants ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.votes ENABLE ROW LEVEL SECURITY;

GRANT USAGE ON SCHEMA public TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.auth_api_key(p_key_hash bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_api_key(p_key_hash bytea) TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.auth_intake_key(p_key_hash bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_intake_key(p_key_hash bytea) TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.auth_intake_origins(p_key_hash bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_intake_origins(p_key_hash bytea) TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.auth_person_by_email(p_email text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_person_by_email(p_email text) TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.auth_session(p_id_hash bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_session(p_id_hash bytea) TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.auth_signin_link(p_token_hash bytea) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_signin_link(p_token_hash bytea) TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.auth_tenant_exists(p_tenant_id uuid) FROM PUBLIC;
GRANT ALL ON FUNCTION public.auth_tenant_exists(p_tenant_id uuid) TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.count_feedback(changes public.feedback_count_change[]) FROM PUBLIC;

GRANT SELECT,INSERT,UPDATE ON TABLE public.feedback TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.feedback_count_change(f public.feedback, sign integer) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.feedback_counts_follow() FROM PUBLIC;

REVOKE ALL ON FUNCTION public.guard_tenant_table(t regclass) FROM PUBLIC;

REVOKE ALL ON FUNCTION public.intake_tenant(p_slug text) FROM PUBLIC;
GRANT ALL ON FUNCTION public.intake_tenant(p_slug text) TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.mailgun_token_fresh(p_token text, p_digest bytea, p_expires_at timestamp with time zone) FROM PUBLIC;
GRANT ALL ON FUNCTION public.mailgun_token_fresh(p_token text, p_digest bytea, p_expires_at timestamp with time zone) TO pilot_feedback_app;

REVOKE ALL ON FUNCTION public.purge_expired(idempotency_hours integer, retention_days integer, batch integer) FROM PUBLIC;
GRANT ALL ON FUNCTION public.purge_expired(idempotency_hours integer, retention_days integer, batch integer) TO pilot_feedback_app;

GRANT SELECT,INSERT ON TABLE public.console_sessions TO pilot_feedback_app;

GRANT UPDATE(ended_at) ON TABLE public.console_sessions TO pilot_feedback_app;

GRANT UPDATE(message) ON TABLE public.console_sessions TO pilot_feedback_app;

GRANT SELECT ON TABLE public.feedback_assignee_counts TO pilot_feedback_app;

GRANT SELECT,INSERT ON TABLE public.feedback_audit TO pilot_feedback_app;

GRANT SELECT ON TABLE public.feedback_counts TO pilot_feedback_app;

GRANT SELECT,INSERT ON TABLE public.feedback_notes TO pilot_feedback_app;

GRANT SELECT,INSERT ON TABLE public.github_deliveries TO pilot_feedback_app;

GRANT SELECT,INSERT ON TABLE public.idempotency_keys TO pilot_feedback_app;

GRANT SELECT,INSERT ON TABLE public.inbound_mails TO pilot_feedback_app;

GRANT SELECT,INSERT ON TABLE public.mail_bounces TO pilot_feedback_app;

GRANT UPDATE(status) ON TABLE public.mail_bounces TO pilot_feedback_app;

GRANT UPDATE(diagnostic) ON TABLE public.mail_bounces TO pilot_feedback_app;

GRANT UPDATE(bounced_at) ON TABLE public.mail_bounces TO pilot_feedback_app;

GRANT SELECT,INSERT ON TABLE public.mail_opt_outs TO pilot_feedback_app;

GRANT SELECT,INSERT ON TABLE public.outbox TO pilot_feedback_app;

GRANT UPDATE(attempts) ON TABLE public.outbox TO pilot_feedback_app;

GRANT UPDATE(next_attempt_at) ON TABLE public.outbox TO pilot_feedback_app;

GRANT UPDATE(sweep_after) ON TABLE public.outbox TO pilot_feedback_app;

GRANT UPDATE(last_error) ON TABLE public.outbox TO pilot_feedback_app;

GRANT UPDATE(done_at) ON TABLE public.outbox TO pilot_feedback_app;

GRANT UPDATE(outcome) ON TABLE public.outbox TO pilot_feedback_app;

GRANT SELECT ON TABLE public.people TO pilot_feedback_app;

GRANT UPDATE(role) ON TABLE public.people TO pilot_feedback_app;

GRANT UPDATE(last_digest_at) ON TABLE public.people TO pilot_feedback_app;

GRANT UPDATE(removed_at) ON TABLE public.people TO pilot_feedback_app;

GRANT SELECT,INSERT,UPDATE ON TABLE public.rate_counters TO pilot_feedback_app;

GRANT SELECT,INSERT ON TABLE public.signin_links TO pilot_feedback_app;

GRANT SELECT,INSERT,UPDATE ON TABLE public.signin_throttle TO pilot_feedback_app;

GRANT SELECT ON TABLE public.signing_keys TO pilot_feedback_app;

GRANT SELECT(id) ON TABLE public.tenants TO pilot_feedback_app;

GRANT SELECT(name) ON TABLE public.tenants TO pilot_feedback_app;

GRANT SELECT(created_at) ON TABLE public.tenants TO pilot_feedback_app;

GRANT SELECT(github_repository) ON TABLE public.tenants TO pilot_feedback_app;

GRANT SELECT(anonymous_priority) ON TABLE public.tenants TO pilot_feedback_app;

GRANT SELECT(slug) ON TABLE public.tenants TO pilot_feedback_app;

GRANT SELECT(alert_high) ON TABLE public.tenants TO pilot_feedback_app;

GRANT SELECT(time_zone) ON TABLE public.tenants TO pilot_feedback_app;

GRANT SELECT(status_link_days) ON TABLE public.tenants TO pilot_feedback_app;

GRANT SELECT,INSERT,DELETE ON TABLE public.votes TO pilot_feedback_app;
