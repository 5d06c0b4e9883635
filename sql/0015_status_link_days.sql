-- How many days a submitter's status link works after it was made (shared/status_page.py);
-- NULL, the default: for good. Every mail carries a fresh link.
ALTER TABLE tenants ADD COLUMN status_link_days integer
    CHECK (status_link_days BETWEEN 1 AND 3650);

GRANT SELECT (status_link_days) ON tenants TO pilot_feedback_app;
