"""GitHub's `issues` webhook: an issue closed or reopened on GitHub moves the items
linked to it, in every tenant that links it.

A delivery is trusted only with a valid X-Hub-Signature-256 (HMAC-SHA256 of the
raw body with the webhook's secret, compared in constant time), only while the
issue event is fresh and not from the future, and only once: its X-GitHub-Delivery
id is recorded in the transaction of the change it makes. A captured body sent
again under another delivery id changes nothing either: an item takes an issue
event only when the issue's `updated_at` is newer than the last one it took.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

from shared import errors, logs, queries, secrets
from shared.config import settings
from shared.db import Tx
from shared.items import audit_system
from shared.triage import tell_submitter
from shared.workflow import CLOSED

ACTOR = "github_webhook"
NOT_PLANNED_REASON = "Closed as not planned on GitHub."
DUPLICATE_REASON = "Closed on GitHub as a duplicate of another issue."
MAX_URL = 500  # as feedback.github_issue_url stores it


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


MAX_DELIVERY_ID = 100  # as github_deliveries stores it
MAX_CLOCK_SKEW = datetime.timedelta(minutes=5)
# How each closing reason of GitHub's (state_reason) moves an item, and what the submitter is told.
CLOSED_AS = {
    "completed": ("completed", None),
    None: ("completed", None),  # GitHub Enterprise Server before state_reason
    "not_planned": ("declined", NOT_PLANNED_REASON),
    "duplicate": ("declined", DUPLICATE_REASON),
}


@dataclass(frozen=True)
class IssueEvent:
    delivery: str
    url: str
    updated_at: datetime.datetime
    status: str  # what linked items become
    reason: str | None  # the decline reason the submitter sees


def receive(tx: Tx, delivery_id: str | None, event: str | None, body: bytes) -> dict[str, Any]:
    """Apply one verified delivery to every item linked to its issue; what became of it."""
    if not delivery_id or not event:
        raise errors.BadRequest("X-GitHub-Delivery and X-GitHub-Event are required.")
    if len(delivery_id) > MAX_DELIVERY_ID:
        raise _bad_field("X-GitHub-Delivery", f"at most {MAX_DELIVERY_ID} characters")
    try:
        payload = json.loads(body)
    except ValueError:
        raise errors.BadRequest("The body is not valid JSON.") from None
    issue_event = _read(event, payload, delivery_id)
    if issue_event is None:
        return {"result": "ignored"}  # ping, other events and actions

    tx.set_tenant(None, staff=True)  # the issue names no tenant: its URL finds the items
    if not tx.rows(queries.TAKE_DELIVERY, delivery=delivery_id):
        return {"result": "already taken"}
    items = [_apply(tx, issue_event, *row) for row in tx.rows(queries.FIND_BY_ISSUE, url=issue_event.url)]
    if not items:
        return {"result": "no item links this issue"}
    results = {i["result"] for i in items}
    overall = "applied" if "applied" in results else "stale" if results == {"stale"} else "unchanged"
    return {"result": overall, "items": items}


def _apply(tx: Tx, ev: IssueEvent, tenant_id: uuid.UUID, item_id: uuid.UUID, status: str,
           last_applied: datetime.datetime | None) -> dict[str, Any]:
    """The event for one linked item: only a newer GitHub update than the last one taken counts."""
    if last_applied is not None and ev.updated_at <= last_applied:
        return {"id": str(item_id), "result": "stale", "status": status}
    reopening = ev.status == "in_progress"
    # closed: only an open item changes; reopened: only a closed one, and a duplicate
    # stays one (its votes went to the original, which tracks the work).
    if reopening != (status in CLOSED) or (reopening and status == "duplicate"):
        tx.rows(queries.GITHUB_SEEN, tenant=tenant_id, id=item_id, updated=ev.updated_at)
        return {"id": str(item_id), "result": "unchanged", "status": status}
    audit_system(tx, ACTOR, tenant_id, item_id, "status", {"status": status},
                 {"status": ev.status, "issue": ev.url, "delivery": ev.delivery})
    tell_submitter(tx, tenant_id, item_id, ev.status, None, ev.reason)
    tx.rows(queries.STATUS_FROM_GITHUB, tenant=tenant_id, id=item_id, status=ev.status, reason=ev.reason,
            updated=ev.updated_at)
    logs.log("INFO", "status from github", tenant_id=tenant_id, feedback_id=item_id, status=ev.status,
             delivery=ev.delivery)
    return {"id": str(item_id), "result": "applied", "status": ev.status}


def _read(event: str, payload: Any, delivery_id: str) -> IssueEvent | None:
    """The issue event a payload carries, None for one that means nothing here; a
    correctly signed body that is not what GitHub sends is 400."""
    if event != "issues":
        return None
    if not isinstance(payload, dict):
        raise errors.BadRequest("An issues event is a JSON object.")
    action = payload.get("action")
    if action not in ("closed", "reopened"):
        return None
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        raise _bad_field("issue", "an object")
    url = issue.get("html_url")
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL:
        raise _bad_field("issue.html_url", f"the issue's page, at most {MAX_URL} characters")
    updated = _timestamp(issue.get("updated_at"))
    now = datetime.datetime.now(datetime.UTC)
    if now - updated > datetime.timedelta(seconds=settings().github_webhook_max_age_seconds):
        raise errors.BadRequest("The issue event is too old to apply.")
    if updated - now > MAX_CLOCK_SKEW:
        raise errors.BadRequest("The issue event is dated in the future.")
    if action == "reopened":
        return IssueEvent(delivery_id, url, updated, "in_progress", None)
    state_reason = issue.get("state_reason")
    if state_reason not in CLOSED_AS:
        return None  # a closing reason GitHub may add later: nothing to decide from
    status, reason = CLOSED_AS[state_reason]
    return IssueEvent(delivery_id, url, updated, status, reason)


def _timestamp(value: Any) -> datetime.datetime:
    try:
        stamp = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise _bad_field("issue.updated_at", "an ISO 8601 time") from None
    if stamp.tzinfo is None:
        raise _bad_field("issue.updated_at", "an ISO 8601 time with its offset")
    return stamp


def _bad_field(field: str, expected: str) -> errors.BadRequest:
    return errors.BadRequest(f"{field} must be {expected}.",
                             errors=[{"field": field, "message": f"Expected {expected}", "type": "invalid"}])
