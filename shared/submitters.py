"""A submitter's data, on request: everything held under their address, and its erasure.

Run by an operator (`manage.py submitters export|erase --email`) over the owner's
connection, across tenants. Erasing keeps each item for the team, anonymised: no
address, name or context, and pending mails to the address are given up. Each erased
item gets an audit row.
"""
from __future__ import annotations

import json
from typing import Any

from shared import db

ACTOR = "operator: submitter erasure"

EXPORT = """
SELECT json_build_object(
    'items', (SELECT coalesce(json_agg(json_build_object(
                 'id', f.id, 'tenant_id', f.tenant_id, 'feedback_type', f.type, 'summary', f.summary,
                 'description', f.description, 'priority', f.priority, 'status', f.status, 'source', f.source,
                 'context', f.context, 'tags', f.tags, 'rating', f.rating, 'submitter_email', f.submitter_email,
                 'submitter_name', f.submitter_name, 'public_response', f.public_response,
                 'decline_reason', f.decline_reason, 'created_at', f.created_at, 'updated_at', f.updated_at)
                 ORDER BY f.created_at), '[]')
                FROM feedback f WHERE lower(f.submitter_email) = :email),
    'mails', (SELECT coalesce(json_agg(json_build_object(
                 'feedback_id', o.feedback_id, 'tenant_id', o.tenant_id, 'notice', o.payload->>'notice',
                 'created_at', o.created_at, 'outcome', o.outcome) ORDER BY o.id), '[]')
                FROM outbox o WHERE o.kind = 'mail' AND lower(o.payload->>'to') = :email),
    'mail_opt_outs', (SELECT coalesce(json_agg(json_build_object(
                 'tenant_id', m.tenant_id, 'created_at', m.created_at) ORDER BY m.created_at), '[]')
                FROM mail_opt_outs m WHERE m.email = :email)
)::text"""

ANONYMISE = """
UPDATE feedback f SET submitter_email = NULL, submitter_name = NULL, context = '{}', erased_at = now(),
       updated_at = now()
 WHERE lower(f.submitter_email) = :email
RETURNING f.tenant_id, f.id"""

AUDIT_ERASURE = """
INSERT INTO feedback_audit (tenant_id, feedback_id, actor, actor_role, action, old_value, new_value)
SELECT t, i, :actor, 'system', 'erase', NULL, '{"fields": ["submitter_email", "submitter_name", "context"]}'
  FROM unnest(CAST(:tenants AS uuid[]), CAST(:items AS uuid[])) AS e (t, i)"""

# Mails to the address: pending ones are given up, and none keeps the address.
FORGET_MAILS = """
UPDATE outbox SET payload = payload - 'to' - 'name',
       done_at = coalesce(done_at, clock_timestamp()), outcome = coalesce(outcome, 'skipped')
 WHERE kind = 'mail' AND lower(payload->>'to') = :email"""

# Records keyed by the address itself.
FORGET_RECORDS = [
    "DELETE FROM mail_opt_outs WHERE email = :email",
    "DELETE FROM mail_bounces WHERE email = :email",
    "DELETE FROM idempotency_keys WHERE principal = 'anonymous:' || :email",
    "DELETE FROM rate_counters WHERE bucket = 'email:' || :email",
]


def export(email: str) -> dict[str, Any]:
    with db.transaction(owner=True) as tx:
        tx.set_tenant(None, staff=True)
        found = json.loads(tx.scalar(EXPORT, email=email.lower()))
    return {"email": email.lower(), **found}


def erase(email: str) -> dict[str, Any]:
    address = email.lower()
    with db.transaction(owner=True) as tx:
        tx.set_tenant(None, staff=True)
        erased = tx.rows(ANONYMISE, email=address)
        tx.rows(AUDIT_ERASURE, actor=ACTOR, tenants=[str(t) for t, _ in erased], items=[str(i) for _, i in erased])
        tx.rows(FORGET_MAILS, email=address)
        for statement in FORGET_RECORDS:
            tx.rows(statement, email=address)
    return {"email": address, "items_anonymised": [str(item) for _, item in erased]}
