-- Hardening: GitHub updates applied in order, issue links matched without regard
-- to letter case.

-- The `updated_at` of the last GitHub issue event applied to the item: an event
-- that is not newer (a replayed body under a new delivery id) changes nothing.
ALTER TABLE feedback ADD COLUMN github_updated_at timestamptz;

-- GitHub's owner and repository names are case-insensitive: the webhook finds
-- every item linked to an issue by the lower-cased URL.
DROP INDEX feedback_github_issue_idx;
CREATE INDEX feedback_github_issue_idx ON feedback (lower(github_issue_url)) WHERE github_issue_url IS NOT NULL;

-- Anonymous callers may ask for high and urgent priority (each opens a GitHub
-- issue) only where the tenant allows it.
ALTER TABLE tenants ADD COLUMN anonymous_priority boolean NOT NULL DEFAULT false;
GRANT SELECT (anonymous_priority) ON tenants TO pilot_feedback_app;

-- Mail-link keys are rotated: a new key signs new links (they name it); a retired
-- key still verifies links for a grace period.
ALTER TABLE signing_keys
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ADD COLUMN retired_at timestamptz;
