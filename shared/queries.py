"""Every SQL statement the service runs, named, parameterized, in one place.

Statements that show items build the JSON in PostgreSQL (ITEM_JSON) and hand it
back as text: decoding rows into Python objects and encoding them again costs
more than the query itself. A statement that reads items of the caller's tenant,
or of every tenant for staff, is built both ways at import (`Scoped`), so its
text is written once with no placeholder left to format per call.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

TENANT_SCOPE = "f.tenant_id = :tenant"
ALL_TENANTS = "TRUE"
_SCOPE = "<scope>"  # where a scoped statement's tenant filter goes


class Scoped(NamedTuple):
    """A statement over the caller's tenant (`:tenant`), and the same over every tenant."""

    tenant: str
    all_tenants: str


def scoped(sql: str) -> Scoped:
    return Scoped(sql.replace(_SCOPE, TENANT_SCOPE), sql.replace(_SCOPE, ALL_TENANTS))


# Which tenant a transaction acts for, and whether as staff (row-level security reads both).
SET_TENANT = (
    "SELECT set_config('app.tenant_id', CAST(:tenant AS text), true),"
    " set_config('app.staff', CAST(:staff AS text), true)"
)

# One item as the API shows it. :viewer is the caller's user id (or NULL);
# :see_emails is true for admins and staff.
ITEM_JSON = """json_build_object(
    'id', f.id,
    'tenant_id', f.tenant_id,
    'feedback_type', f.type,
    'summary', f.summary,
    'description', f.description,
    'priority', f.priority,
    'status', f.status,
    'source', f.source,
    'context', f.context,
    'tags', f.tags,
    'rating', f.rating,
    'submitted_by', f.submitted_by,
    'submitter_email', CASE WHEN CAST(:see_emails AS boolean) OR f.submitted_by = CAST(:viewer AS uuid)
                            THEN f.submitter_email END,
    'submitter_name', f.submitter_name,
    'github_issue_url', f.github_issue_url,
    'github_sync_error', CASE WHEN CAST(:see_emails AS boolean) THEN f.github_sync_error END,
    'public_response', f.public_response,
    'decline_reason', f.decline_reason,
    'duplicate_of', f.duplicate_of,
    'assignee_id', f.assignee_id,
    'assignee_email', CASE WHEN CAST(:see_emails AS boolean) THEN f.assignee_email END,
    'vote_count', f.vote_count,
    'voted', EXISTS (SELECT 1 FROM votes v
                      WHERE v.tenant_id = f.tenant_id AND v.feedback_id = f.id
                        AND v.user_id = CAST(:viewer AS uuid)),
    'created_at', f.created_at,
    'updated_at', f.updated_at,
    'acknowledged_at', f.acknowledged_at,
    'completed_at', f.completed_at,
    'sla_due_at', f.sla_due_at,
    'sla_status', sla_status(f.sla_due_at, f.acknowledged_at, f.created_at)
)::text"""

# What the console's inbox shows of an item in a row (its page is read with ITEM_JSON).
ROW_JSON = """json_build_object(
    'id', f.id,
    'feedback_type', f.type,
    'summary', f.summary,
    'priority', f.priority,
    'status', f.status,
    'assignee_email', CASE WHEN CAST(:see_emails AS boolean) THEN f.assignee_email END,
    'vote_count', f.vote_count,
    'created_at', f.created_at,
    'sla_status', sla_status(f.sla_due_at, f.acknowledged_at, f.created_at)
)::text"""

# --- authentication: look up the credential and set the tenant in one statement

AUTH_API_KEY = """
SELECT k.key_id, k.tenant_id, k.role, k.user_id, k.label,
       set_config('app.tenant_id', k.tenant_id::text, true),
       set_config('app.staff', CASE WHEN k.role = 'staff' THEN 'on' ELSE '' END, true)
  FROM auth_api_key(:key_hash) k"""

AUTH_INTAKE_KEY = """
SELECT t, set_config('app.tenant_id', t::text, true)
  FROM auth_intake_key(:key_hash) t
 WHERE t IS NOT NULL"""

AUTH_TENANT = """
SELECT set_config('app.tenant_id', CAST(:tenant AS text), true),
       set_config('app.staff', CAST(:staff AS text), true)
 WHERE auth_tenant_exists(CAST(:tenant AS uuid))"""

# --- anonymous rate limits: one counter row per bucket and fixed window

# The seconds since the window began come back, so the caller knows when it ends.
RATE_HIT = """
INSERT INTO rate_counters AS r (tenant_id, bucket, window_start, hits)
SELECT :tenant, b.bucket, to_timestamp(floor(extract(epoch FROM now()) / b.seconds) * b.seconds), 1
  FROM unnest(CAST(:buckets AS text[]), CAST(:windows AS int[])) AS b (bucket, seconds)
    ON CONFLICT (tenant_id, bucket, window_start) DO UPDATE SET hits = r.hits + 1
RETURNING r.bucket, r.hits, extract(epoch FROM r.window_start - now())::float8"""

# Whether the tenant lets anonymous callers ask for high and urgent priority.
TENANT_ANONYMOUS_PRIORITY = "SELECT anonymous_priority FROM tenants WHERE id = :tenant"

# --- idempotency: an advisory lock says "in flight", the row says "done"

IDEMPOTENCY_LOCK = "SELECT pg_try_advisory_xact_lock(hashtextextended(:scope, 0))"

IDEMPOTENCY_GET = """
SELECT request_hash, response_status, response_body
  FROM idempotency_keys
 WHERE tenant_id = :tenant AND principal = :principal AND key = :key"""

IDEMPOTENCY_PUT = """
INSERT INTO idempotency_keys (tenant_id, principal, key, request_hash, response_status, response_body)
VALUES (:tenant, :principal, :key, :request_hash, :status, :body)"""

# --- feedback

_NEW_ITEM = """(tenant_id, type, summary, description, priority, source, context,
          tags, rating, submitted_by, submitter_email, submitter_name, sla_due_at)
VALUES (:tenant, :type, :summary, :description, :priority, :source, CAST(:context AS jsonb),
        CAST(:tags AS jsonb), CAST(:rating AS int), CAST(:submitted_by AS uuid), :email, :name,
        :sla_due_at)"""

# The new item, its id, its GitHub event's id and its alerts' ids (none here).
INSERT_FEEDBACK = f"INSERT INTO feedback AS f {_NEW_ITEM}\nRETURNING {ITEM_JSON}, f.id, NULL::bigint, NULL::bigint[]"


def _alerts(source: str, priority: str, where: str = "true") -> str:
    """Mails to the tenant's admins who take alerts, about the item of `source` (aliased f)
    whose priority is `priority`: urgent, or high where the tenant asks for high too."""
    return f"""
INSERT INTO outbox (tenant_id, feedback_id, kind, payload)
SELECT f.tenant_id, f.id, 'mail', jsonb_build_object(
    'notice', 'alert', 'to', p.email, 'name', p.name, 'summary', f.summary, 'priority', {priority})
  FROM {source} JOIN people p ON p.tenant_id = f.tenant_id AND p.role = 'admin' AND p.alerts
                    AND p.removed_at IS NULL
 WHERE ({where})
   AND ({priority} = 'urgent'
        OR ({priority} = 'high' AND (SELECT t.alert_high FROM tenants t WHERE t.id = f.tenant_id)))
RETURNING id, kind"""


@functools.cache  # on every submission's path
def insert_feedback(github: bool, alerts: bool) -> str:
    """The new item with, in the same statement, its GitHub event and its alerts, as asked
    (most items need neither, and a plain INSERT is faster)."""
    if not (github or alerts):
        return INSERT_FEEDBACK
    event = """, event AS (
    INSERT INTO outbox (tenant_id, feedback_id, kind, payload)
    SELECT tenant_id, id, 'github', jsonb_build_object('reason', 'submitted') FROM f
    RETURNING id
)""" if github else ""
    alert = f", alert AS ({_alerts('f', 'f.priority')})" if alerts else ""
    return f"""
WITH f AS (
    INSERT INTO feedback {_NEW_ITEM}
    RETURNING *
){event}{alert}
SELECT {ITEM_JSON}, f.id, {"(SELECT id FROM event)" if github else "NULL::bigint"},
       {"(SELECT array_agg(id) FROM alert)" if alerts else "NULL::bigint[]"} FROM f"""


# An item's priority raised: its alerts.
ENQUEUE_ALERTS = _alerts("feedback f", "CAST(:priority AS text)", "f.tenant_id = :tenant AND f.id = :id")

GET_FEEDBACK = scoped(f"SELECT {ITEM_JSON} FROM feedback f WHERE f.id = :id AND {_SCOPE}")

# The changeable fields as the API names them: the "before" of an audit row.
BEFORE_JSON = """json_build_object(
    'feedback_type', f.type, 'priority', f.priority, 'summary', f.summary,
    'description', f.description, 'tags', f.tags, 'context', f.context, 'rating', f.rating,
    'assignee_id', f.assignee_id, 'assignee_email', f.assignee_email,
    'github_issue_url', f.github_issue_url)::text"""

# Which tenant an item belongs to, if the caller may see it (reads take no lock).
FIND_FEEDBACK = scoped(f"SELECT f.tenant_id FROM feedback f WHERE f.id = :id AND {_SCOPE}")

LOCK_FEEDBACK = scoped(f"""
SELECT f.tenant_id, f.status, f.submitted_by, {BEFORE_JSON} AS before, f.created_at
  FROM feedback f WHERE f.id = :id AND {_SCOPE} FOR UPDATE""")

# Keyset orders: the ORDER BY and the row compared with the cursor's item, which is
# the last item of the previous page (an id nobody can see gives an empty page).
SORTS = {
    "newest": ("f.created_at DESC, f.id DESC", "<", "f.created_at, f.id"),
    "oldest": ("f.created_at, f.id", ">", "f.created_at, f.id"),
    "votes": ("f.vote_count DESC, f.created_at DESC, f.id DESC", "<", "f.vote_count, f.created_at, f.id"),
    "priority": ("f.priority_rank DESC, f.created_at DESC, f.id DESC", "<", "f.priority_rank, f.created_at, f.id"),
    "sla": ("f.sla_due_at, f.id", ">", "f.sla_due_at, f.id"),
}

# Equality filters of the list: query parameter -> column.
LIST_FILTERS = {
    "status": "f.status = :status",
    "type": "f.type = :type",
    "priority": "f.priority = :priority",
    "source": "f.source = :source",
    "tag": "f.tags @> CAST(:tag AS jsonb)",
    "q": "f.search @@ to_tsquery('english', :q)",
    "mine": "f.submitted_by = CAST(:viewer AS uuid)",
    "assignee": "f.assignee_id = CAST(:assignee AS uuid)",
    "assignee_me": "f.assignee_id = CAST(:viewer AS uuid)",
    "unassigned": "f.assignee_id IS NULL",
    "sla_status": "sla_status(f.sla_due_at, f.acknowledged_at, f.created_at) = :sla_status",
    "created_after": "f.created_at >= CAST(:created_after AS date)",
    "created_before": "f.created_at < CAST(:created_before AS date)",
}


def list_feedback(scope: str, filters: list[str], sort: str, after: bool, item: str = ITEM_JSON) -> str:
    """The list statement for one combination of filters, order and cursor; `item` is
    each item's JSON (ITEM_JSON, or ROW_JSON for a row of the console's inbox).

    One row back: the page as a JSON array, the id of its last item when another
    page follows, else NULL. PostgreSQL joins the items so the driver decodes one
    value, not a row per item.
    """
    order, compare, keys = SORTS[sort]
    where = [scope, *(LIST_FILTERS[name] for name in filters)]
    if after:
        cursor_keys = keys.replace("f.", "c.")
        where.append(f"({keys}) {compare} (SELECT {cursor_keys} FROM feedback c WHERE c.id = :cursor)")
    # Whether the cursor names an item the caller can see; one it cannot is no cursor of this list.
    cursor_known = "EXISTS (SELECT 1 FROM feedback c WHERE c.id = :cursor)" if after else "true"
    # The extra row only tells whether another page follows: no JSON is built for it.
    return f"""
WITH page AS (
    SELECT CASE WHEN row_number() OVER w <= :limit THEN {item} END AS item,
           f.id, row_number() OVER w AS n
      FROM feedback f WHERE {' AND '.join(where)}
    WINDOW w AS (ORDER BY {order}) ORDER BY {order} LIMIT :limit + 1
)
SELECT '[' || coalesce(string_agg(item, ',' ORDER BY n) FILTER (WHERE n <= :limit), '') || ']',
       CASE WHEN count(*) > :limit THEN max(id::text) FILTER (WHERE n = :limit) END,
       {cursor_known}
  FROM page"""


# Columns PATCH may set, with the cast the parameter needs.
UPDATABLE = {
    "feedback_type": ("type", ":feedback_type"),
    "priority": ("priority", ":priority"),
    "summary": ("summary", ":summary"),
    "description": ("description", ":description"),
    "tags": ("tags", "CAST(:tags AS jsonb)"),
    "context": ("context", "CAST(:context AS jsonb)"),
    "rating": ("rating", "CAST(:rating AS int)"),
}


def _update_item(sets: str) -> str:
    """An UPDATE of one item that answers with the item."""
    return (
        f"UPDATE feedback AS f SET {sets}, updated_at = now()"
        f" WHERE f.tenant_id = :tenant AND f.id = :id RETURNING {ITEM_JSON}"
    )


def update_feedback(fields: list[str]) -> str:
    """The PATCH statement for these fields; a new priority brings a new SLA due time."""
    sets = ", ".join(f"{UPDATABLE[name][0]} = {UPDATABLE[name][1]}" for name in fields)
    if "priority" in fields:
        sets += ", sla_due_at = :sla_due_at"
    return _update_item(sets)


ADD_VOTE = """
INSERT INTO votes (tenant_id, feedback_id, user_id) VALUES (:tenant, :id, :user)
    ON CONFLICT DO NOTHING"""

REMOVE_VOTE = "DELETE FROM votes WHERE tenant_id = :tenant AND feedback_id = :id AND user_id = :user"

VOTE_STATE = """
SELECT f.vote_count,
       EXISTS (SELECT 1 FROM votes v WHERE v.tenant_id = f.tenant_id AND v.feedback_id = f.id
                                       AND v.user_id = :user)
  FROM feedback f WHERE f.tenant_id = :tenant AND f.id = :id"""

# Counts by type, status and priority, and the mean response time, from the counts the
# triggers keep (sql/0014_feedback_counts.sql): a read of at most a few hundred rows, however
# many items the tenant has.
STATS = scoped("""
WITH counts AS (
    SELECT f.type, f.status, f.priority, sum(f.items)::bigint AS n,
           sum(f.answered) AS answered, sum(f.response_seconds) AS response_seconds
      FROM feedback_counts f WHERE <scope> GROUP BY 1, 2, 3 HAVING sum(f.items) <> 0
)
SELECT json_build_object(
    'total', (SELECT coalesce(sum(n), 0) FROM counts),
    'by_type', (SELECT coalesce(json_object_agg(type, n), '{}')
                  FROM (SELECT type, sum(n)::int AS n FROM counts GROUP BY 1) t),
    'by_status', (SELECT coalesce(json_object_agg(status, n), '{}')
                    FROM (SELECT status, sum(n)::int AS n FROM counts GROUP BY 1) s),
    'by_priority', (SELECT coalesce(json_object_agg(priority, n), '{}')
                      FROM (SELECT priority, sum(n)::int AS n FROM counts GROUP BY 1) p),
    'avg_response_time_hours', (
        SELECT round(sum(response_seconds) / nullif(sum(answered), 0) / 3600, 2) FROM counts),
    'open_count', (SELECT coalesce(sum(n), 0) FROM counts
                    WHERE status NOT IN ('completed', 'declined', 'duplicate')),
    'resolved_count', (SELECT coalesce(sum(n), 0) FROM counts
                        WHERE status IN ('completed', 'declined', 'duplicate'))
)::text""")


# The triage view's figures: by type, status and priority, and open items per assignee,
# from the kept counts; the summary sums those groups.
# SLA: met when answered in time, breached when answered late or overdue unanswered. Being
# overdue changes with the clock alone, so the unanswered items overdue now are counted
# here, from the partial index of unanswered items (the open queue, not the history).
def _summary(where: str) -> str:
    """The stats object over the rows of `counts` that match `where`."""
    kinds = f"{where} AND c.by_kind"

    def total(column: str = "n", cond: str = "TRUE") -> str:
        return f"(SELECT coalesce(sum({column}), 0) FROM counts c WHERE {kinds} AND {cond})"

    def by(key: str, value: str = "n", rows: str = kinds) -> str:
        return (f"(SELECT coalesce(json_object_agg(k, v), '{{}}') FROM (SELECT {key} AS k, sum({value})::int AS v"
                f" FROM counts c WHERE {rows} GROUP BY 1 HAVING sum({value}) > 0) g)")

    return f"""json_build_object(
        'total', {total()},
        'by_type', {by("c.type")},
        'by_status', {by("c.status")},
        'by_priority', {by("c.priority")},
        'avg_response_time_hours', (
            SELECT round(CAST(sum(response_seconds) / nullif(sum(answered), 0) / 3600 AS numeric), 2)
              FROM counts c WHERE {kinds}),
        'open_count', {total("open")},
        'resolved_count', {total("n - open")},
        'sla_by_priority', (
            SELECT coalesce(json_object_agg(priority, json_build_object('met', met, 'breached', breached)), '{{}}')
              FROM (SELECT c.priority, sum(met)::int AS met, sum(breached)::int AS breached
                      FROM counts c WHERE {kinds} GROUP BY 1) s),
        'open_by_assignee', {by("coalesce(c.assignee_id::text, 'unassigned')", "open", f"{where} AND NOT c.by_kind")}
    )"""


_STATS_COUNTS = f"""
WITH kept AS (
    SELECT f.tenant_id, f.type, f.status, f.priority, sum(f.items) AS n, sum(f.met) AS met, sum(f.late) AS late,
           sum(f.answered) AS answered, sum(f.response_seconds) AS response_seconds
      FROM feedback_counts f WHERE {_SCOPE}
     GROUP BY 1, 2, 3, 4 HAVING sum(f.items) <> 0
), overdue AS (
    SELECT f.tenant_id, f.type, f.status, f.priority, count(*) AS n
      FROM feedback f WHERE {_SCOPE} AND f.acknowledged_at IS NULL AND f.sla_due_at < now()
     GROUP BY 1, 2, 3, 4
), kinds AS (
    SELECT k.tenant_id, k.type, k.status, k.priority, k.n,
           CASE WHEN k.status NOT IN ('completed', 'declined', 'duplicate') THEN k.n ELSE 0 END AS open,
           k.met, k.late + coalesce(o.n, 0) AS breached, k.answered, k.response_seconds
      FROM kept k LEFT JOIN overdue o USING (tenant_id, type, status, priority)
), assigned AS (
    SELECT f.tenant_id, f.assignee_id, sum(f.open) AS open
      FROM feedback_assignee_counts f WHERE {_SCOPE}
     GROUP BY 1, 2 HAVING sum(f.open) <> 0
), assignees AS (
    SELECT tenant_id, assignee_id, open FROM assigned
    UNION ALL  -- nobody's: the open items less the assigned ones
    SELECT k.tenant_id, NULL, sum(k.open) - coalesce((SELECT sum(a.open) FROM assigned a
                                                       WHERE a.tenant_id = k.tenant_id), 0)
      FROM kinds k GROUP BY 1
), counts AS (
    SELECT tenant_id, type, status, priority, NULL::uuid AS assignee_id, true AS by_kind,
           n, open, met, breached, answered, response_seconds FROM kinds
    UNION ALL
    SELECT tenant_id, NULL, NULL, NULL, assignee_id, false, 0, open, 0, 0, 0, 0 FROM assignees
)"""

# One tenant's figures (TENANT_SCOPE); staff over every tenant take the statement below.
TRIAGE_STATS = _STATS_COUNTS.replace(_SCOPE, TENANT_SCOPE) + f"\nSELECT {_summary('TRUE')}::text"

# Staff looking at every tenant also get each tenant's figures.
TRIAGE_STATS_ALL_TENANTS = _STATS_COUNTS.replace(_SCOPE, ALL_TENANTS) + f"""
SELECT (jsonb_build_object('by_tenant', (
            SELECT coalesce(jsonb_object_agg(t.tenant_id, {_summary('c.tenant_id = t.tenant_id')}), '{{}}')
              FROM (SELECT DISTINCT tenant_id FROM counts) t))
        || {_summary('TRUE')}::jsonb)::text"""


# --- triage

AUDIT = """
INSERT INTO feedback_audit (tenant_id, feedback_id, actor, actor_role, action, old_value, new_value)
VALUES (:tenant, :id, :actor, :role, :action, CAST(:old AS jsonb), CAST(:new AS jsonb))"""

HISTORY = """
SELECT coalesce(json_agg(json_build_object(
           'id', a.id, 'action', a.action, 'actor', a.actor, 'actor_role', a.actor_role,
           'old', a.old_value, 'new', a.new_value, 'at', a.created_at) ORDER BY a.id), '[]')::text
  FROM feedback_audit a WHERE a.tenant_id = :tenant AND a.feedback_id = :id"""

# A status change; the timestamps are set once, by the transition that earns them:
# leaving NEW answers the submitter (acknowledged_at), completing completes.
TRANSITION = _update_item("""status = CAST(:status AS text),
       acknowledged_at = coalesce(f.acknowledged_at, CASE WHEN f.status = 'new' THEN now() END),
       completed_at = coalesce(f.completed_at, CASE WHEN CAST(:status AS text) = 'completed' THEN now() END),
       decline_reason = CASE WHEN CAST(:status AS text) = 'declined' THEN CAST(:reason AS text)
                             ELSE f.decline_reason END,
       duplicate_of = CAST(:duplicate_of AS uuid),
       public_response = coalesce(CAST(:response AS text), f.public_response)""")

SET_RESPONSE = _update_item("public_response = :response")

DUPLICATE_TARGET = """
SELECT f.status FROM feedback f WHERE f.tenant_id = :tenant AND f.id = :id FOR UPDATE"""

# A duplicate's voters move to the original; who voted for both counts once.
MOVE_VOTES = """
WITH moved AS (
    DELETE FROM votes WHERE tenant_id = :tenant AND feedback_id = :duplicate RETURNING user_id
)
INSERT INTO votes (tenant_id, feedback_id, user_id)
SELECT :tenant, :original, user_id FROM moved
    ON CONFLICT DO NOTHING"""

ASSIGN = _update_item("assignee_id = CAST(:assignee_id AS uuid), assignee_email = :assignee_email")

LINK_GITHUB = _update_item("github_issue_url = :url")

ADD_NOTE = """
INSERT INTO feedback_notes (tenant_id, feedback_id, author, body) VALUES (:tenant, :id, :author, :body)
RETURNING json_build_object('id', id, 'author', author, 'body', body, 'created_at', created_at)::text"""

NOTES = """
SELECT coalesce(json_agg(json_build_object('id', n.id, 'author', n.author, 'body', n.body,
                                           'created_at', n.created_at) ORDER BY n.created_at, n.id), '[]')::text
  FROM feedback_notes n WHERE n.tenant_id = :tenant AND n.feedback_id = :id"""

# --- outbox

# Whether the item's submitter can be mailed: an address, and no opt-out for it.
MAIL_STATE = """
SELECT f.submitter_email IS NOT NULL,
       EXISTS (SELECT 1 FROM mail_opt_outs m WHERE m.tenant_id = f.tenant_id AND m.email = lower(f.submitter_email))
  FROM feedback f WHERE f.tenant_id = :tenant AND f.id = :id"""

# A mail to the submitter about what just happened, if the item has an address; replies
# go to the tenant's intake address, and a mail answering theirs names it (in_reply_to).
ENQUEUE_MAIL = """
INSERT INTO outbox (tenant_id, feedback_id, kind, payload)
SELECT f.tenant_id, f.id, 'mail', jsonb_build_object(
    'notice', CAST(:notice AS text), 'to', f.submitter_email, 'name', f.submitter_name,
    'summary', f.summary, 'status', CAST(:status AS text),
    'response', CAST(:response AS text), 'reason', CAST(:reason AS text),
    'tenant_slug', (SELECT t.slug FROM tenants t WHERE t.id = f.tenant_id),
    'in_reply_to', CAST(:in_reply_to AS text))
  FROM feedback f
 WHERE f.tenant_id = :tenant AND f.id = :id AND f.submitter_email IS NOT NULL
RETURNING id, kind"""

ITEM_GITHUB_URL = "SELECT github_issue_url FROM feedback WHERE tenant_id = :tenant AND id = :id"

# --- the team's morning digest (shared/digest.py)

DIGEST_TENANTS = "SELECT id, time_zone FROM tenants ORDER BY id"
# The tenant's admins who take the digest and have had none today; locked, so that two
# runs at once make one digest each.
DIGEST_DUE_PEOPLE = """
SELECT id, email, name, last_digest_at FROM people
 WHERE tenant_id = :tenant AND role = 'admin' AND digest AND removed_at IS NULL
   AND (last_digest_at IS NULL OR last_digest_at < :day_start)
 ORDER BY id FOR UPDATE SKIP LOCKED"""
_DIGEST_ITEMS = """(SELECT coalesce(json_agg(json_build_object('id', d.id, 'summary', d.summary,
                            'priority', d.priority, 'due', d.sla_due_at)), '[]')
       FROM (SELECT * FROM feedback f WHERE f.tenant_id = :tenant AND {where}
              ORDER BY f.sla_due_at, f.id LIMIT 25) d)"""
# Open items due today and not yet answered; open items past their SLA; items made since.
DIGEST_CONTENT = "SELECT " + ", ".join(_DIGEST_ITEMS.format(where=where) + f" AS {name}" for name, where in (
    ("due_today", "f.acknowledged_at IS NULL AND f.status <> ALL (CAST(:closed AS text[]))"
                  " AND f.sla_due_at >= CAST(:now AS timestamptz) AND f.sla_due_at < CAST(:day_end AS timestamptz)"),
    # sla_status()'s 'breached', at the digest's clock rather than the database's.
    ("breached", "f.status <> ALL (CAST(:closed AS text[])) AND (f.acknowledged_at > f.sla_due_at"
                 " OR (f.acknowledged_at IS NULL AND CAST(:now AS timestamptz) > f.sla_due_at))"),
    ("new", "f.created_at > CAST(:since AS timestamptz)"),
))
ENQUEUE_DIGEST = """
INSERT INTO outbox (tenant_id, kind, payload)
VALUES (:tenant, 'mail', jsonb_build_object('notice', 'digest', 'to', CAST(:email AS text), 'name', CAST(:name AS text),
        'day', CAST(:day AS text), 'due_today', CAST(:due_today AS jsonb), 'breached', CAST(:breached AS jsonb),
        'new', CAST(:new AS jsonb)))
RETURNING id, kind"""
DIGEST_DONE = "UPDATE people SET last_digest_at = CAST(:at AS timestamptz) WHERE id = :id"

# --- feedback by mail (shared/mail_intake.py)

INTAKE_TENANT = "SELECT intake_tenant(:slug)"
INBOUND_MAIL_SEEN = "SELECT 1 FROM inbound_mails WHERE tenant_id = :tenant AND message_id = :message_id"
INBOUND_MAIL_TAKEN = """
INSERT INTO inbound_mails (tenant_id, message_id, feedback_id, outcome)
VALUES (:tenant, :message_id, :item, :outcome)
ON CONFLICT (tenant_id, message_id) DO NOTHING RETURNING 1"""
# The submitters of the items our mails were about (named in their Message-IDs).
ITEM_SUBMITTERS = """
SELECT f.id, lower(f.submitter_email) AS email FROM feedback f
 WHERE f.tenant_id = :tenant AND f.id = ANY (CAST(:items AS uuid[]))"""
# Whether an address submitted any of the tenant's items (a bounce names it).
IS_SUBMITTER = """
SELECT EXISTS (SELECT 1 FROM feedback f WHERE f.tenant_id = :tenant AND lower(f.submitter_email) = :email)"""
MARK_BOUNCING = """
INSERT INTO mail_bounces (tenant_id, email, status, diagnostic) VALUES (:tenant, :email, :status, :diagnostic)
ON CONFLICT (tenant_id, email) DO UPDATE
   SET status = EXCLUDED.status, diagnostic = EXCLUDED.diagnostic, bounced_at = clock_timestamp()"""
BOUNCING = "SELECT status, diagnostic, bounced_at FROM mail_bounces WHERE tenant_id = :tenant AND email = lower(:email)"
# A Mailgun post's token: False when it signed another post before (a replay).
MAILGUN_TOKEN_FRESH = "SELECT mailgun_token_fresh(:token, :digest, to_timestamp(:expires_at))"

# The row, locked for its delivery; a row another delivery holds is skipped, not waited for.
CLAIM_EVENT = """
SELECT kind, tenant_id, feedback_id, created_at, payload::text AS payload, attempts,
       next_attempt_at > clock_timestamp() AS deferred,
       created_at < clock_timestamp() - make_interval(secs => :max_age) AS expired
  FROM outbox
 WHERE id = :id AND done_at IS NULL
   FOR UPDATE SKIP LOCKED"""

EVENT_DONE = "UPDATE outbox SET done_at = clock_timestamp(), outcome = :outcome, last_error = :error WHERE id = :id"

# Backoff doubles from :base seconds per attempt, up to :cap; a failure may ask for
# longer (:not_before, a rate limit's reset). The sweep waits as long.
_BACKOFF = "clock_timestamp() + make_interval(secs => LEAST(:cap, :base * power(2, {attempts})))"

EVENT_FAILED = f"""
UPDATE outbox SET attempts = attempts + 1, last_error = :error,
       next_attempt_at = GREATEST({_BACKOFF.format(attempts="attempts")}, CAST(:not_before AS timestamptz)),
       sweep_after = GREATEST({_BACKOFF.format(attempts="attempts")}, CAST(:not_before AS timestamptz))
 WHERE id = :id"""

# Due rows, handed to the relay again and given another wait before the next sweep.
SWEEP_DUE = f"""
UPDATE outbox o SET sweep_after = {_BACKOFF.format(attempts="o.attempts")}
  FROM (SELECT id FROM outbox WHERE done_at IS NULL AND sweep_after <= clock_timestamp()
         ORDER BY sweep_after LIMIT :limit FOR UPDATE SKIP LOCKED) due
 WHERE o.id = due.id
RETURNING o.id, o.kind"""

# Rows past their age limit are given up, never delivered late.
EXPIRE_EVENTS = """
UPDATE outbox SET done_at = clock_timestamp(), outcome = 'dead',
       last_error = left('expired; last error: ' || coalesce(last_error, 'none'), 2000)
 WHERE done_at IS NULL AND created_at < clock_timestamp() - make_interval(secs => :max_age)
RETURNING id, kind, tenant_id"""

# Dead events, newest first, for an operator to read and replay.
DEAD_EVENTS = """
SELECT id, kind, tenant_id, feedback_id, attempts, last_error, created_at, done_at FROM outbox
 WHERE outcome = 'dead' ORDER BY done_at DESC LIMIT :limit"""

# A dead event made pending again, due at once for its function and for the sweep.
REPLAY_EVENT = """
UPDATE outbox SET done_at = NULL, outcome = NULL, attempts = 0, last_error = NULL,
       next_attempt_at = clock_timestamp(), sweep_after = clock_timestamp()
 WHERE id = :id AND outcome = 'dead'
RETURNING id, kind"""

# The newest key of a purpose (named by it, or by it and a suffix) signs new links.
CURRENT_SIGNING_KEY = """
SELECT name, key FROM signing_keys
 WHERE (name = :prefix OR name LIKE :prefix || '-%') AND retired_at IS NULL
 ORDER BY created_at DESC, name DESC LIMIT 1"""

# A key links may still be signed with: current, or retired within the grace period.
HONOURED_SIGNING_KEY = """
SELECT key FROM signing_keys
 WHERE name = :name AND (retired_at IS NULL OR retired_at > now() - make_interval(secs => :grace_seconds))"""

# Every key of a purpose still honoured (signed links, Message-IDs of our mails), the newest
# last as itsdangerous takes them.
HONOURED_SIGNING_KEYS = """
SELECT key FROM signing_keys
 WHERE (name = :prefix OR name LIKE :prefix || '-%')
   AND (retired_at IS NULL OR retired_at > now() - make_interval(secs => :grace_seconds))
 ORDER BY created_at, name"""

# The tenant an intake key names and the origins whose pages may use it.
INTAKE_ORIGINS = "SELECT tenant_id, allowed_origins FROM auth_intake_origins(:key_hash)"
INTAKE_ORIGINS_TENANT = "SELECT tenant_id FROM auth_intake_origins(:key_hash)"

# What a submitter's status page shows: nothing about the team, no address.
FOLLOWED_ITEM = """
SELECT summary, type, status, public_response, decline_reason, created_at, updated_at
  FROM feedback WHERE tenant_id = :tenant AND id = :id"""

# How many days a tenant's status links work (NULL: for good).
STATUS_LINK_DAYS = "SELECT status_link_days FROM tenants WHERE id = :tenant"

STATUS_CHANGES = """
SELECT created_at AS at, new_value ->> 'status' AS status FROM feedback_audit
 WHERE tenant_id = :tenant AND feedback_id = :id AND action = 'status'
 ORDER BY created_at, id"""

# No mail to an address that opted out or whose mail bounces, nor about an item whose
# sender's domain did not vouch for its mail (shared/mail_intake.py).
MAIL_SUPPRESSED = """
SELECT EXISTS (SELECT 1 FROM mail_opt_outs WHERE tenant_id = :tenant AND email = :email)
    OR EXISTS (SELECT 1 FROM mail_bounces WHERE tenant_id = :tenant AND email = :email)
    OR EXISTS (SELECT 1 FROM feedback f WHERE f.tenant_id = :tenant AND f.id = :item
                                          AND f.context ->> 'unauthenticated_sender' IS NOT NULL)"""

OPT_OUT = """
INSERT INTO mail_opt_outs (tenant_id, email) VALUES (:tenant, :email)
ON CONFLICT (tenant_id, email) DO NOTHING"""

# --- retention

PURGE_EXPIRED = "SELECT what, purged FROM purge_expired(:idempotency_hours, :retention_days, :batch)"

# --- GitHub issues

ENQUEUE_GITHUB = """
INSERT INTO outbox (tenant_id, feedback_id, kind, payload)
VALUES (:tenant, :id, 'github', jsonb_build_object('reason', CAST(:reason AS text)))
RETURNING id, kind"""

# What an issue is made from, with the item locked until the issue is recorded; and
# when the item's first GitHub event was written, before which no issue for it exists.
GITHUB_ITEM = """
SELECT f.summary, f.description, f.type, f.priority, f.status, f.source, f.context::text AS context,
       f.sla_due_at, f.github_issue_url IS NOT NULL AS linked, t.github_repository AS repository,
       (SELECT min(o.created_at) FROM outbox o
         WHERE o.tenant_id = f.tenant_id AND o.feedback_id = f.id AND o.kind = 'github') AS first_requested
  FROM feedback f JOIN tenants t ON t.id = f.tenant_id
 WHERE f.tenant_id = :tenant AND f.id = :id
   FOR UPDATE OF f"""

# Issues made for the tenant in the last hour: how many, and when the oldest leaves the window.
GITHUB_ISSUES_LAST_HOUR = """
SELECT count(*), min(created_at) + interval '1 hour' FROM feedback_audit
 WHERE tenant_id = :tenant AND action = 'github_issue' AND created_at > clock_timestamp() - interval '1 hour'"""

RECORD_GITHUB_ISSUE = """
UPDATE feedback SET github_issue_url = :url, github_sync_error = NULL, updated_at = now()
 WHERE tenant_id = :tenant AND id = :id"""

TENANT_GITHUB_REPOSITORY = "SELECT github_repository FROM tenants WHERE id = :tenant"

RECORD_GITHUB_ERROR = "UPDATE feedback SET github_sync_error = :error WHERE tenant_id = :tenant AND id = :id"

# --- GitHub's webhook

# A delivery is taken once: no row back means it was taken before.
TAKE_DELIVERY = """
INSERT INTO github_deliveries (delivery_id) VALUES (:delivery) ON CONFLICT (delivery_id) DO NOTHING
RETURNING delivery_id"""

# Every item linked to an issue, in every tenant, locked in one order (no deadlock
# between two deliveries for the same issue).
FIND_BY_ISSUE = """
SELECT f.tenant_id, f.id, f.status, f.github_updated_at FROM feedback f
 WHERE lower(f.github_issue_url) = lower(:url)
 ORDER BY f.tenant_id, f.id
   FOR UPDATE"""

# The issue's time of the event taken for an item (applied or not).
GITHUB_SEEN = "UPDATE feedback SET github_updated_at = :updated WHERE tenant_id = :tenant AND id = :id"

# GitHub's word on the status. Reopening undoes completion and decline.
STATUS_FROM_GITHUB = """
UPDATE feedback f SET status = CAST(:status AS text),
       acknowledged_at = coalesce(f.acknowledged_at, now()),
       completed_at = CASE CAST(:status AS text) WHEN 'completed' THEN coalesce(f.completed_at, now())
                                                 WHEN 'in_progress' THEN NULL ELSE f.completed_at END,
       decline_reason = CASE CAST(:status AS text) WHEN 'declined' THEN CAST(:reason AS text)
                                                   WHEN 'in_progress' THEN NULL ELSE f.decline_reason END,
       github_updated_at = :updated,
       updated_at = now()
 WHERE f.tenant_id = :tenant AND f.id = :id"""


# --- operators' actions on tenants, keys and people (tenants.py, api_keys.py, team.py, signing_keys.py,
# over the owner's connection)

# The slug names the tenant in its intake address; a taken one gets the id's start behind it.
INSERT_TENANT = """
INSERT INTO tenants (id, name, intake_key_hash, slug)
VALUES (:id, :name, :key_hash, CASE WHEN EXISTS (SELECT 1 FROM tenants WHERE slug = CAST(:slug AS text))
                                    THEN CAST(:slug AS text) || '-' || left(CAST(:id_text AS text), 8)
                                    ELSE CAST(:slug AS text) END)
RETURNING slug"""
INSERT_KEY = """
INSERT INTO api_keys (id, tenant_id, role, user_id, key_hash, label, expires_at)
VALUES (:id, :tenant, :role, CAST(:user_id AS uuid), :key_hash, :label, CAST(:expires_at AS timestamptz))"""
# A key by its id, or by the key itself (its hash).
FIND_KEY = "SELECT id, tenant_id FROM api_keys WHERE id = CAST(:id AS uuid) OR key_hash = :key_hash"
REVOKE_KEY = """
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
 WHERE id = :id RETURNING id, tenant_id, role, label, revoked_at"""
LIST_KEYS = """
SELECT id, tenant_id, role, label, user_id, created_at, expires_at, revoked_at FROM api_keys
 WHERE tenant_id = CAST(:tenant AS uuid) OR CAST(:tenant AS uuid) IS NULL
 ORDER BY tenant_id, created_at"""
TENANT_FIELDS = ("id, name, slug, created_at, github_repository, anonymous_priority, allowed_origins, alert_high,"
                 " time_zone, status_link_days")
LIST_TENANTS = f"SELECT {TENANT_FIELDS} FROM tenants ORDER BY created_at"
SHOW_TENANT = f"SELECT {TENANT_FIELDS} FROM tenants WHERE id = :id"
CONFIGURE_TENANT = f"""
UPDATE tenants SET github_repository = CASE WHEN :set_repository THEN CAST(:repository AS text)
                                            ELSE github_repository END,
       anonymous_priority = coalesce(CAST(:anonymous_priority AS boolean), anonymous_priority),
       allowed_origins = coalesce(CAST(:allowed_origins AS text[]), allowed_origins),
       alert_high = coalesce(CAST(:alert_high AS boolean), alert_high),
       time_zone = CASE WHEN :set_time_zone THEN CAST(:time_zone AS text) ELSE time_zone END,
       status_link_days = CASE WHEN :set_status_link_days THEN CAST(:status_link_days AS integer)
                               ELSE status_link_days END
 WHERE id = :id RETURNING {TENANT_FIELDS}"""
ROTATE_INTAKE_KEY = "UPDATE tenants SET intake_key_hash = :key_hash WHERE id = :id RETURNING id"
RETIRE_SIGNING_KEYS = """
UPDATE signing_keys SET retired_at = clock_timestamp()
 WHERE (name = :prefix OR name LIKE :prefix || '-%') AND retired_at IS NULL RETURNING name"""
INSERT_SIGNING_KEY = "INSERT INTO signing_keys (name, key) VALUES (:name, :key)"
FIND_TENANT = "SELECT id FROM tenants WHERE name = :name ORDER BY created_at LIMIT 1"
INSERT_PERSON = """
INSERT INTO people (tenant_id, email, name, role) VALUES (:tenant, :email, :name, :role)
RETURNING id, email, name, role, tenant_id"""
# A person's mails: alerts about urgent items, the morning digest (NULL: unchanged).
CONFIGURE_PERSON = """
UPDATE people SET alerts = coalesce(CAST(:alerts AS boolean), alerts), digest = coalesce(CAST(:digest AS boolean), digest)
 WHERE email = lower(:email) AND removed_at IS NULL RETURNING id, email, name, role, tenant_id, alerts, digest"""
# A person leaves: their sessions end, their links stop working (auth_signin_link), and
# their open items go back to the queue. Each answers what it changed.
REMOVE_PERSON = """
UPDATE people SET removed_at = now() WHERE email = lower(:email) AND removed_at IS NULL
RETURNING id, email, name, role, tenant_id"""
END_PERSON_SESSIONS = """
UPDATE console_sessions SET ended_at = now()
 WHERE person_id = :person AND ended_at IS NULL AND expires_at > now() RETURNING id_hash"""
UNASSIGN_PERSON = """
UPDATE feedback AS f SET assignee_id = NULL, assignee_email = NULL, updated_at = now()
 WHERE f.assignee_id = :person AND f.status <> ALL (CAST(:closed AS text[]))
RETURNING f.tenant_id, f.id"""
SET_PERSON_ROLE = """
UPDATE people SET role = :role WHERE email = lower(:email) AND removed_at IS NULL
RETURNING id, email, name, role, tenant_id"""
PERSON_BY_ADDRESS = """
SELECT id, email, name, role, tenant_id FROM people WHERE email = lower(:email) AND removed_at IS NULL"""
LIST_PEOPLE = """
SELECT id, email, name, role, tenant_id, created_at FROM people
 WHERE (tenant_id = CAST(:tenant AS uuid) OR CAST(:tenant AS uuid) IS NULL) AND removed_at IS NULL
 ORDER BY tenant_id, name"""


# --- the deployment's health (checks.py)

# Every table with a tenant_id column (and tenants itself) must have row-level
# security enabled and forced, and a policy for all commands with USING and WITH CHECK.
TENANT_TABLES_RLS = """
SELECT c.relname,
       c.relrowsecurity,
       c.relforcerowsecurity,
       EXISTS (SELECT 1 FROM pg_policy p
                WHERE p.polrelid = c.oid AND p.polcmd = '*'
                  AND p.polqual IS NOT NULL AND p.polwithcheck IS NOT NULL) AS guarded
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
   AND (c.relname = 'tenants'
        OR EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
 ORDER BY 1"""

# Run on the service's own connection: what its effective role could do.
SERVICE_ROLE_POWERS = """
SELECT current_user,
       r.rolsuper,
       r.rolbypassrls,
       (SELECT count(*) FROM pg_class c WHERE pg_has_role(current_user, c.relowner, 'MEMBER')
                                          AND c.relnamespace = current_schema()::regnamespace)
  FROM pg_roles r WHERE r.rolname = current_user"""


# --- the console's sign-in (signin.py): each lookup sets the tenant it found


def _person_found_by(lookup: str) -> str:
    return f"SELECT person_id, tenant_id, set_config('app.tenant_id', tenant_id::text, true) FROM {lookup}"


PERSON_BY_EMAIL = _person_found_by("auth_person_by_email(:email)")

INSERT_SIGNIN_LINK = """
INSERT INTO signin_links (token_hash, tenant_id, person_id, expires_at)
VALUES (:hash, :tenant, :person, now() + make_interval(mins => :minutes))"""

ENQUEUE_SIGNIN_MAIL = """
INSERT INTO outbox (tenant_id, feedback_id, kind, payload)
SELECT p.tenant_id, NULL, 'mail',
       jsonb_build_object('notice', 'signin', 'to', p.email, 'name', p.name, 'link', CAST(:link AS text),
                          'minutes', CAST(:minutes AS int))
  FROM people p WHERE p.tenant_id = :tenant AND p.id = :person
RETURNING id, kind"""

# A request for a link, the same row whatever the address (the mail function looks it up).
ENQUEUE_SIGNIN_REQUEST = """
INSERT INTO outbox (tenant_id, feedback_id, kind, payload)
VALUES (NULL, NULL, 'mail', jsonb_build_object('notice', 'signin_request', 'to', CAST(:email AS text)))
RETURNING id, kind"""

# A source's requests in the current window: the count and the seconds since it began.
SIGNIN_THROTTLE_HIT = """
INSERT INTO signin_throttle AS t (bucket, window_start, hits)
VALUES (:bucket, to_timestamp(floor(extract(epoch FROM now()) / :seconds) * :seconds), 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = t.hits + 1
RETURNING t.hits, extract(epoch FROM t.window_start - now())::float8"""

USE_SIGNIN_LINK = _person_found_by("auth_signin_link(:hash)")

INSERT_SESSION = """
INSERT INTO console_sessions (id_hash, tenant_id, person_id, expires_at)
VALUES (:hash, :tenant, :person, now() + make_interval(hours => :hours))"""

AUTH_SESSION = """
SELECT s.person_id, s.tenant_id, s.role, s.email, s.name,
       set_config('app.tenant_id', s.tenant_id::text, true),
       set_config('app.staff', CASE WHEN s.role = 'staff' THEN 'on' ELSE '' END, true)
  FROM auth_session(:hash) s"""

END_SESSION = "UPDATE console_sessions SET ended_at = now() WHERE id_hash = :hash AND ended_at IS NULL"


# --- the console (console.py)

# Items that share words with a text (an item's summary), the closest first.
SIMILAR = scoped("""
SELECT f.id, f.summary, f.status, ts_rank(f.search, q) AS rank
  FROM feedback f, to_tsquery('english', :words) q
 WHERE <scope> AND f.id <> :id AND f.search @@ q
 ORDER BY rank DESC, f.created_at DESC LIMIT 5""")

# The tenants a caller sees (staff: all of them), for staff's tenant filter.
TENANT_NAMES = "SELECT id, name FROM tenants ORDER BY name"

# The inbox's counts per status, from the kept counts.
STATUS_COUNTS = scoped("""
SELECT coalesce(json_object_agg(status, n), '{}')::text
  FROM (SELECT f.status, sum(f.items)::bigint AS n FROM feedback_counts f WHERE <scope>
         GROUP BY 1 HAVING sum(f.items) <> 0) s""")

# Who may be assigned the tenant's items (or, for staff over every tenant, anyone's):
# the tenant's admins, and staff.
TEAM = scoped("""
SELECT f.id, f.name, f.email, f.role FROM people f
 WHERE (<scope> OR f.role = 'staff') AND f.removed_at IS NULL
 ORDER BY f.name""")

TEAM_MEMBER = "SELECT id, name, email FROM people WHERE id = :id AND removed_at IS NULL"

# Whose team a person is on (a person the caller cannot see: no row).
PERSON_TENANT = "SELECT tenant_id, role FROM people WHERE id = :id"

# A message for the session's next page, and taking it there (console_session).
KEEP_CONSOLE_MESSAGE = "UPDATE console_sessions SET message = :message WHERE id_hash = :hash"
TAKE_CONSOLE_MESSAGE = """
UPDATE console_sessions s SET message = NULL
  FROM (SELECT id_hash, message FROM console_sessions WHERE id_hash = :hash AND message IS NOT NULL) kept
 WHERE s.id_hash = kept.id_hash
RETURNING kept.message"""

# The first statement of a transaction whose reads must agree (an export's pages).
ONE_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"

# The last 12 weeks (Monday to Sunday, UTC), oldest first: items made per type, and the
# mean hours to acknowledgement of the items made that week.
WEEKLY = scoped("""
WITH weeks AS (
    SELECT generate_series(date_trunc('week', now()) - interval '11 weeks', date_trunc('week', now()),
                           interval '1 week') AS week
)
SELECT w.week::date AS week,
       coalesce((SELECT jsonb_object_agg(t.type, t.n) FROM (
           SELECT f.type, count(*) AS n FROM feedback f
            WHERE <scope> AND f.created_at >= w.week AND f.created_at < w.week + interval '1 week'
            GROUP BY 1) t), '{}')::text AS by_type,
       (SELECT round(CAST(avg(extract(epoch FROM f.acknowledged_at - f.created_at)) / 3600 AS numeric), 1)
          FROM feedback f
         WHERE <scope> AND f.created_at >= w.week AND f.created_at < w.week + interval '1 week'
           AND f.acknowledged_at IS NOT NULL) AS response_hours
  FROM weeks w ORDER BY w.week""")
