-- GitHub issues from feedback: where each tenant's issues go, what went wrong on
-- the way, and which webhook deliveries have been taken.

-- owner/name; NULL: the deployment's GITHUB_REPOSITORY.
ALTER TABLE tenants ADD COLUMN github_repository varchar(200)
    CHECK (github_repository ~ '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$');
GRANT SELECT (github_repository) ON tenants TO pilot_feedback_app;

-- Why no issue could be made for an item (a permanent refusal), for triage to see.
ALTER TABLE feedback ADD COLUMN github_sync_error text CHECK (length(github_sync_error) <= 2000);

-- The per-tenant hourly cap counts the issues made in the last hour.
CREATE INDEX feedback_audit_github_issue_idx ON feedback_audit (tenant_id, created_at)
    WHERE action = 'github_issue';

-- GitHub webhook deliveries already taken (X-GitHub-Delivery), so a redelivery
-- changes nothing. Not a tenant's row: the delivery names no tenant.
CREATE TABLE github_deliveries (
    delivery_id varchar(100) PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
GRANT SELECT, INSERT ON github_deliveries TO pilot_feedback_app;

-- Webhooks name the issue, not the tenant: find its item by URL.
CREATE INDEX feedback_github_issue_idx ON feedback (github_issue_url) WHERE github_issue_url IS NOT NULL;
