-- The console's message after a form post (what was done, and why the rest was refused)
-- is kept with the session until its next page shows it, not in a cookie: a browser drops
-- a cookie over 4 KB, and a bulk change's result over a hundred items is longer.
ALTER TABLE console_sessions ADD COLUMN message text;
GRANT UPDATE (message) ON console_sessions TO pilot_feedback_app;
