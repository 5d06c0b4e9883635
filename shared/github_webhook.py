"""GitHub's `issues` webhook: an issue closed or reopened on GitHub moves its item.

A delivery is trusted only with a valid X-Hub-Signature-256 (HMAC-SHA256 of the
raw body with the webhook's secret, compared in constant time), only while the
issue event is fresh, and only once: its X-GitHub-Delivery id is recorded in the
transaction of the change it makes.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from typing import Any

from shared import errors, logs, queries, secrets
from shared.config import settings
from shared.db import Tx
from shared.feedback import audit_system
from shared.triage import tell_submitter
from shared.workflow import CLOSED

ACTOR = "github_webhook"
NOT_PLANNED_REASON = "Closed as not planned on GitHub."


def verify(body: bytes, signature: str | None) -> None:
    cfg = settings()
    key = secrets.value(cfg.github_webhook_key, cfg.github_webhook_key_secret)
    if not key:
        logs.log("ERROR", "no GitHub webhook secret is configured (GITHUB_WEBHOOK_KEY_SECRET)")
        raise errors.Unauthorized("This deployment cannot verify GitHub deliveries.")
    if not signature:
        raise errors.Unauthorized("The delivery is not signed (X-Hub-Signature-256).")
    expected = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise errors.Unauthorized("The delivery's signature does not match.")


def receive(tx: Tx, delivery_id: str | None, event: str | None, body: bytes) -> dict[str, Any]:
    """Apply one verified delivery; what became of it."""
    if not delivery_id or not event:
        raise errors.BadRequest("X-GitHub-Delivery and X-GitHub-Event are required.")
    try:
        payload = json.loads(body)
    except ValueError:
        raise errors.BadRequest("The body is not valid JSON.") from None
    target = _target(event, payload)
    if target is None:
        return {"result": "ignored"}  # ping, other events and actions
    issue = payload["issue"]
    updated = datetime.datetime.fromisoformat(issue["updated_at"].replace("Z", "+00:00"))
    age = datetime.datetime.now(datetime.UTC) - updated
    if age > datetime.timedelta(seconds=settings().github_webhook_max_age_seconds):
        raise errors.BadRequest("The issue event is too old to apply.")

    tx.set_tenant(None, staff=True)  # the issue names no tenant: its URL finds the item
    if not tx.rows(queries.TAKE_DELIVERY, delivery=delivery_id):
        return {"result": "already taken"}
    row = tx.one(queries.FIND_BY_ISSUE, url=issue["html_url"])
    if row is None:
        return {"result": "no item links this issue"}
    tenant_id, item_id, status = row
    # closed: only an open item changes; reopened: only a closed one.
    if (target == "in_progress") != (status in CLOSED):
        return {"result": "unchanged", "status": status}
    reason = NOT_PLANNED_REASON if target == "declined" else None
    audit_system(tx, ACTOR, tenant_id, item_id, "status", {"status": status},
                 {"status": target, "issue": issue["html_url"], "delivery": delivery_id})
    tell_submitter(tx, tenant_id, item_id, target, None, reason)
    tx.rows(queries.STATUS_FROM_GITHUB, tenant=tenant_id, id=item_id, status=target, reason=reason)
    logs.log("INFO", "status from github", tenant_id=tenant_id, feedback_id=item_id, status=target,
             delivery=delivery_id)
    return {"result": "applied", "id": str(item_id), "status": target}


def _target(event: str, payload: dict[str, Any]) -> str | None:
    if event != "issues" or not isinstance(payload.get("issue"), dict):
        return None
    action = payload.get("action")
    if action == "reopened":
        return "in_progress"
    if action == "closed":
        reason = payload["issue"].get("state_reason")
        return "declined" if reason == "not_planned" else "completed" if reason in ("completed", None) else None
    return None
