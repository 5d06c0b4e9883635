-- The clients in front of the API: the web widget's allowed origins per tenant, and the
-- key that signs the links to a submitter's read-only status page.

-- An intake key sits in every page that embeds the widget, so a tenant names the origins
-- whose pages may use it (none: the deployment's CORS_ALLOWED_ORIGINS decide).
ALTER TABLE tenants ADD COLUMN allowed_origins text[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(allowed_origins) <= 50);

-- The tenant an intake key names, and the origins its pages may be served from.
CREATE FUNCTION auth_intake_origins(p_key_hash bytea) RETURNS TABLE (tenant_id uuid, allowed_origins text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$ SELECT t.id, t.allowed_origins FROM tenants t WHERE t.intake_key_hash = p_key_hash $$;

REVOKE ALL ON FUNCTION auth_intake_origins(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_intake_origins(bytea) TO pilot_feedback_app;

-- Status page links are signed with the current 'status_link' key only: rotating it
-- (`manage.py signing-keys rotate`) ends every link made before.
INSERT INTO signing_keys (name, key)
VALUES ('status_link', sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')));
