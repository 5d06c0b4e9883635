-- Feedback by mail on real mail: the submitters' addresses our mails bounce from, and the
-- tokens of Mailgun's signed posts.

-- A delivery report (RFC 3464) of one of our mails that failed for good marks its
-- recipient as bouncing: mail to it is skipped from then on, and the console shows it.
CREATE TABLE mail_bounces (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    email      varchar(320) NOT NULL,
    status     varchar(20),    -- the report's status code, such as 5.1.1
    diagnostic varchar(500),   -- the receiving server's words
    bounced_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant_id, email)
);
SELECT guard_tenant_table('mail_bounces');
GRANT SELECT, INSERT, UPDATE (status, diagnostic, bounced_at) ON mail_bounces TO pilot_feedback_app;

-- Each token Mailgun signed a post with, until the post's timestamp leaves the accepted
-- window: a captured timestamp, token and signature then carries no other mail. Not a
-- tenant's row (the post is verified before any tenant is known); the service reaches it
-- only through the function below, which also forgets the expired tokens.
CREATE TABLE mailgun_tokens (
    token      varchar(200) PRIMARY KEY,
    digest     bytea NOT NULL,   -- SHA-256 of the post's fields: a retry of the same post is no replay
    expires_at timestamptz NOT NULL
);
CREATE INDEX mailgun_tokens_expiry_idx ON mailgun_tokens (expires_at);

CREATE FUNCTION mailgun_token_fresh(p_token text, p_digest bytea, p_expires_at timestamptz) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
BEGIN
    DELETE FROM mailgun_tokens WHERE expires_at < clock_timestamp();
    INSERT INTO mailgun_tokens (token, digest, expires_at) VALUES (p_token, p_digest, p_expires_at)
    ON CONFLICT (token) DO NOTHING;
    RETURN (SELECT t.digest = p_digest FROM mailgun_tokens t WHERE t.token = p_token);
END
$$;
REVOKE ALL ON FUNCTION mailgun_token_fresh(text, bytea, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mailgun_token_fresh(text, bytea, timestamptz) TO pilot_feedback_app;
