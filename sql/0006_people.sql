-- The team: people who triage in the console, their one-time sign-in links and their
-- sessions. A person is an admin of one tenant or staff across tenants; either way the
-- row belongs to a home tenant, as a staff API key does. Links and sessions are kept
-- by the hash of their secret only.

CREATE TABLE people (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    email      varchar(254) NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    name       varchar(200) NOT NULL CHECK (length(btrim(name)) > 0),
    role       varchar(10) NOT NULL CHECK (role IN ('admin', 'staff')),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- An address signs in one person.
CREATE UNIQUE INDEX people_email_idx ON people (email);
CREATE INDEX people_tenant_idx ON people (tenant_id, name);

CREATE TABLE signin_links (
    token_hash bytea PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    person_id  uuid NOT NULL REFERENCES people (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX signin_links_person_idx ON signin_links (tenant_id, person_id, created_at);

CREATE TABLE console_sessions (
    id_hash    bytea PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    person_id  uuid NOT NULL REFERENCES people (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at   timestamptz
);

SELECT guard_tenant_table(t)
  FROM unnest(ARRAY['people', 'signin_links', 'console_sessions']::regclass[]) AS t;

-- The owner defines the lookups below, which run before the tenant is known.
CREATE POLICY owner_lookup ON people FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY owner_lookup ON signin_links FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY owner_use ON signin_links FOR UPDATE TO CURRENT_USER USING (true);
CREATE POLICY owner_lookup ON console_sessions FOR SELECT TO CURRENT_USER USING (true);

-- Whose address this is (a sign-in request names only an address).
CREATE FUNCTION auth_person_by_email(p_email text)
RETURNS TABLE (person_id uuid, tenant_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$ SELECT p.id, p.tenant_id FROM people p WHERE p.email = lower(p_email) $$;

-- A link is good once, within its time: using it marks it used in the same statement,
-- so two clicks race for one row and one of them gets nothing.
CREATE FUNCTION auth_signin_link(p_token_hash bytea)
RETURNS TABLE (person_id uuid, tenant_id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    UPDATE signin_links l SET used_at = clock_timestamp()
     WHERE l.token_hash = p_token_hash AND l.used_at IS NULL AND l.expires_at > clock_timestamp()
    RETURNING l.person_id, l.tenant_id
$$;

-- The person a live session belongs to.
CREATE FUNCTION auth_session(p_id_hash bytea)
RETURNS TABLE (person_id uuid, tenant_id uuid, role varchar, email varchar, name varchar)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    SELECT p.id, p.tenant_id, p.role, p.email, p.name
      FROM console_sessions s JOIN people p ON p.id = s.person_id
     WHERE s.id_hash = p_id_hash AND s.ended_at IS NULL AND s.expires_at > now()
$$;

REVOKE ALL ON FUNCTION auth_person_by_email(text), auth_signin_link(bytea), auth_session(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_person_by_email(text), auth_signin_link(bytea), auth_session(bytea)
    TO pilot_feedback_app;

-- The service reads the team (to assign), writes links and sessions, and ends sessions.
GRANT SELECT ON people TO pilot_feedback_app;
GRANT SELECT, INSERT ON signin_links, console_sessions TO pilot_feedback_app;
GRANT UPDATE (ended_at) ON console_sessions TO pilot_feedback_app;

-- A sign-in link's mail goes through the outbox too, and is about no item.
ALTER TABLE outbox ALTER COLUMN feedback_id DROP NOT NULL;
