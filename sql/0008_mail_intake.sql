-- Feedback by mail: each tenant's intake address (feedback+<slug>@INTAKE_DOMAIN), and the
-- mails already taken, so that a redelivered mail makes no second item.

-- A tenant's slug names it in its intake address: made from its name, lower case, with
-- the start of its id behind it where two names would make the same slug.
ALTER TABLE tenants ADD COLUMN slug varchar(63);
UPDATE tenants t SET slug = CASE WHEN s.n = 1 THEN s.base ELSE s.base || '-' || left(t.id::text, 8) END
  FROM (SELECT id, base, row_number() OVER (PARTITION BY base ORDER BY created_at, id) AS n
          FROM (SELECT id, created_at,
                       coalesce(nullif(left(trim(BOTH '-' FROM lower(regexp_replace(name, '[^A-Za-z0-9]+', '-', 'g'))), 50), ''),
                                'tenant') AS base
                  FROM tenants) named) s
 WHERE s.id = t.id;
ALTER TABLE tenants ALTER COLUMN slug SET NOT NULL;
ALTER TABLE tenants ADD CONSTRAINT tenants_slug_key UNIQUE (slug);
ALTER TABLE tenants ADD CONSTRAINT tenants_slug_check CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$');

-- The tenant an intake address names (its slug, in any case).
CREATE FUNCTION intake_tenant(p_slug text) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$ SELECT t.id FROM tenants t WHERE t.slug = lower(p_slug) $$;

REVOKE ALL ON FUNCTION intake_tenant(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION intake_tenant(text) TO pilot_feedback_app;

-- Each mail taken, by its Message-ID: the item it made, or the item it answered.
CREATE TABLE inbound_mails (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    message_id  varchar(998) NOT NULL,
    feedback_id uuid NOT NULL,
    outcome     varchar(10) NOT NULL CHECK (outcome IN ('created', 'reply')),
    received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, message_id),
    FOREIGN KEY (tenant_id, feedback_id) REFERENCES feedback (tenant_id, id)
);
SELECT guard_tenant_table('inbound_mails');
GRANT SELECT, INSERT ON inbound_mails TO pilot_feedback_app;

-- Mails to submitters name the tenant's intake address as Reply-To, so replies come back.
GRANT SELECT (slug) ON tenants TO pilot_feedback_app;
