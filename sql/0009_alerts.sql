-- The team hears about what matters: urgent items (and high ones, where the tenant asks)
-- mail the tenant's admins at once, and each working morning every admin gets a digest.
-- Each person may opt out of either.

ALTER TABLE people ADD COLUMN alerts boolean NOT NULL DEFAULT true;
ALTER TABLE people ADD COLUMN digest boolean NOT NULL DEFAULT true;
-- When the person's last digest was made (sent, or skipped for having nothing in it).
ALTER TABLE people ADD COLUMN last_digest_at timestamptz;

-- Whether high items alert the admins too; the tenant's time zone for its mornings
-- (NULL: the deployment's SLA_TIMEZONE).
ALTER TABLE tenants ADD COLUMN alert_high boolean NOT NULL DEFAULT false;
ALTER TABLE tenants ADD COLUMN time_zone varchar(64);

GRANT SELECT (alert_high, time_zone) ON tenants TO pilot_feedback_app;
GRANT UPDATE (last_digest_at) ON people TO pilot_feedback_app;
