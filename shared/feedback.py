"""What the client API does, on one transaction: submit, list, read, edit, vote, stats."""
from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from shared import db, errors, queries, status_page
from shared.auth import Credentials, Principal, authenticate
from shared.config import settings
from shared.db import Tx
from shared.items import audit, lock, scope, viewer
from shared.models import (
    MAX_EMAIL,
    SUBMITTER_FIELDS,
    TRIAGE_FIELDS,
    FeedbackCreate,
    FeedbackUpdate,
    ListQuery,
)
from shared.workflow import CLOSED


@dataclass(frozen=True)
class Result:
    """A response body that is already JSON text, with its status."""

    status: int
    body: str


# --- submit


def submit(
    tx: Tx,
    p: Principal,
    body: FeedbackCreate,
    *,
    idempotency_key: str | None,
) -> Result:
    subject = p.subject
    if p.role == "anonymous":
        if not body.submitter_email:
            raise errors.ValidationFailed(
                "Anonymous feedback needs submitter_email.",
                errors=[{"field": "submitter_email", "message": "Field required", "type": "missing"}],
            )
        if body.priority in ANONYMOUS_REFUSED_PRIORITIES and not tx.scalar(
                queries.TENANT_ANONYMOUS_PRIORITY, tenant=p.tenant_id):
            raise errors.ValidationFailed(
                "Anonymous feedback may be low or medium priority; the team sets a higher one.",
                errors=[{"field": "priority", "message": "Not allowed without signing in", "type": "forbidden"}],
            )
        # Anonymous callers share no key space: each submitter address has its own.
        subject = "anonymous:" + body.submitter_email.lower()
    if idempotency_key is None:
        return Result(201, _insert(tx, p, body, commit=True))

    request_hash = hashlib.sha256(body.model_dump_json().encode()).digest()
    key_scope = f"{p.tenant_id}|{subject}|{idempotency_key}"
    if not tx.scalar(queries.IDEMPOTENCY_LOCK, scope=key_scope):
        raise errors.IdempotencyInFlight("A request with this Idempotency-Key is still in progress.")
    ident = {"tenant": p.tenant_id, "principal": subject, "key": idempotency_key}
    previous = tx.one(queries.IDEMPOTENCY_GET, **ident)
    if previous is not None:
        if previous[0] != request_hash:
            raise errors.IdempotencyMismatch("This Idempotency-Key was used with another request body.")
        return Result(previous[1], previous[2])
    created = _insert(tx, p, body, commit=False)
    tx.rows_and_commit(queries.IDEMPOTENCY_PUT, request_hash=request_hash, status=201, body=created, **ident)
    return Result(201, created)


def _insert(tx: Tx, p: Principal, body: FeedbackCreate, *, commit: bool) -> str:
    """The new item's JSON, with the submitter's status page; an item that qualifies asks
    for its GitHub issue, and alerts the tenant's admins, in the same statement."""
    from shared import outbox, sla  # only writes need them: a list's cold start loads neither

    github = body.priority in settings().github_priorities
    signer = status_page.signer(tx)
    item, item_id, event_id, alert_ids = (tx.rows_and_commit if commit else tx.rows)(
        queries.insert_feedback(github, alerts=body.priority in ALERTING),
        tenant=p.tenant_id,
        type=body.feedback_type,
        summary=body.summary,
        description=body.description,
        priority=body.priority,
        source=body.source,
        context=json.dumps(body.context),
        tags=json.dumps(body.tags),
        rating=body.rating,
        submitted_by=p.user_id,
        email=body.submitter_email or p.email,
        name=body.submitter_name,
        sla_due_at=sla.due_at(body.priority, datetime.datetime.now(datetime.UTC)),
        **viewer(p),
    )[0]
    events = [outbox.Event(event_id, "github")] if event_id is not None else []
    outbox.publish_after_commit(tx, events + [outbox.Event(i, "mail") for i in alert_ids or []])
    return status_page.with_link(signer, p.tenant_id, item_id, item)


# Priorities that may mail the tenant's admins at once (high only where the tenant asks).
ALERTING = frozenset({"urgent", "high"})


# --- anonymous limits

# Each would open a GitHub issue: anonymous callers may ask for them only where the tenant allows.
ANONYMOUS_REFUSED_PRIORITIES = frozenset({"high", "urgent"})
TENANT_WINDOW_SECONDS = 3600
# The most of a tenant's hourly allowance one source (an address, a /64 network) may take.
SOURCE_SHARE = 0.1


@dataclass(frozen=True)
class Limit:
    bucket: str
    limit: int
    window: int


def meter_anonymous(creds: Credentials, ip: str, raw_body: bytes) -> None:
    """Count an anonymous submission per source address and per submitter, then, only
    when neither refuses it, in the tenant's web allowance; in a transaction of its own
    that commits before the request can fail, so refused attempts count too.
    RateLimited once any limit is over."""
    cfg = settings()
    narrow = [Limit(f"ip:{_source(ip)}", _source_limit(), cfg.anon_window_seconds)]
    email = _claimed_email(raw_body)
    if email:
        narrow.append(Limit(f"email:{email}", cfg.anon_limit_per_email, cfg.anon_window_seconds))
    with db.transaction() as tx:
        wait = _count(tx, authenticate(tx, creds).tenant_id, narrow, _tenant_limit("web"))
    _refuse_over(wait)


def meter_mail(slug: str, sender: str) -> uuid.UUID | None:
    """Count a mail to a tenant's intake address (shared/mail_intake.py) as meter_anonymous
    counts a submission: per sender, then in the tenant's mail allowance, apart from the
    web's so that neither starves the other. The tenant the address names (None: an
    unknown address, not counted)."""
    cfg = settings()
    narrow = []
    if "@" in sender:
        narrow.append(Limit(f"email:{_folded(sender)}", cfg.anon_limit_per_email, cfg.anon_window_seconds))
    wait = None
    with db.transaction() as tx:
        tenant_id = tx.scalar(queries.INTAKE_TENANT, slug=slug)
        if tenant_id is not None:
            tx.set_tenant(tenant_id)
            wait = _count(tx, tenant_id, narrow, _tenant_limit("mail"))
    _refuse_over(wait)
    return tenant_id


def _tenant_limit(channel: str) -> Limit:
    return Limit(f"tenant:{channel}", settings().anon_limit_per_tenant_hour, TENANT_WINDOW_SECONDS)


def _source_limit() -> int:
    """The per-address limit, held to SOURCE_SHARE of the tenant's allowance over the same time."""
    cfg = settings()
    share = cfg.anon_limit_per_tenant_hour * SOURCE_SHARE * cfg.anon_window_seconds / TENANT_WINDOW_SECONDS
    return max(1, min(cfg.anon_limit_per_ip, int(share)))


def _source(ip: str) -> str:
    """The source an address stands for: itself, or its /64 network for IPv6 (one host
    holds a whole /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _count(tx: Tx, tenant_id: uuid.UUID, narrow: list[Limit], wide: Limit) -> float | None:
    """Count one attempt in each narrow bucket and, when none is over, in the wide one, so
    that an attempt a narrow limit refuses spends nothing of the wide allowance. The
    seconds until every bucket over its limit has room again (None: none is over)."""
    wait = _hit(tx, tenant_id, narrow)
    return wait if wait is not None else _hit(tx, tenant_id, [wide])


def _hit(tx: Tx, tenant_id: uuid.UUID, limits: list[Limit]) -> float | None:
    if not limits:
        return None
    found = {limit.bucket: limit for limit in limits}
    rows = tx.rows(queries.RATE_HIT, tenant=tenant_id, buckets=list(found),
                   windows=[limit.window for limit in limits])
    over = [found[bucket].window + since_start for bucket, hits, since_start in rows if hits > found[bucket].limit]
    return max(over) if over else None


def _refuse_over(wait: float | None) -> None:
    """Refuse once the attempt is counted (its transaction committed)."""
    if wait is not None:
        raise errors.RateLimited("Too many anonymous submissions; retry later.", math.ceil(wait))


def _claimed_email(raw_body: bytes) -> str | None:
    """The submitter address the body claims, folded as mail systems do (case, and the
    +tag of a plus-address), before the body is validated. The bucket key stays within
    the column's size."""
    try:
        claimed = json.loads(raw_body).get("submitter_email")
    except (ValueError, AttributeError):
        return None
    if not isinstance(claimed, str) or "@" not in claimed:
        return None
    return _folded(claimed)


def _folded(address: str) -> str:
    local, _, domain = address.strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"[:MAX_EMAIL]


# --- read


def get(tx: Tx, p: Principal, item_id: uuid.UUID) -> str:
    s = scope(p)
    found = tx.scalar_and_commit(s.sql(queries.GET_FEEDBACK), id=item_id, **s.params, **viewer(p))
    if found is None:
        raise errors.NotFound("No such feedback.")
    return found


_WORD = re.compile(r"\w+", re.UNICODE)


def _tsquery(text: str, joiner: str = " & ") -> str | None:
    """Every word must match, each as a prefix: 'dark mo' -> 'dark':* & 'mo':* (or, with
    joiner ' | ', any word)."""
    words = _WORD.findall(text)
    return joiner.join(f"'{w}':*" for w in words) or None


def similar(tx: Tx, p: Principal, item_id: uuid.UUID, text: str, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """Other items of the item's tenant that share words with `text`, the closest first:
    the originals a duplicate is likely to have."""
    words = _tsquery(text, " | ")
    if words is None:
        return []
    s = scope(p, tenant_id)
    return tx.records(s.sql(queries.SIMILAR), id=item_id, words=words, **s.params)


def list_items(tx: Tx, p: Principal, q: ListQuery) -> tuple[str, str | None]:
    """One page as JSON text, and the cursor of the next page."""
    sql, params = list_statement(p, q)
    return list_page(tx.rows_and_commit(sql, **params))


def list_statement(p: Principal, q: ListQuery, item: str = queries.ITEM_JSON) -> tuple[str, dict[str, Any]]:
    """The statement that reads a page (list_page reads its answer); `item` as in
    queries.list_feedback."""
    s = scope(p, q.tenant_id)
    params = {**s.params, **viewer(p)}
    filters = []
    for name in ("status", "type", "priority", "source"):
        value = getattr(q, name)
        if value is not None:
            filters.append(name)
            params[name] = value
    if q.tag is not None:
        filters.append("tag")
        params["tag"] = json.dumps([q.tag])
    if q.q:
        tsq = _tsquery(q.q)
        if tsq:
            filters.append("q")
            params["q"] = tsq
    if q.mine:
        filters.append("mine")
    if q.assignee == "me":
        filters.append("assignee_me")
    elif q.assignee == "none":
        filters.append("unassigned")
    elif q.assignee is not None:
        filters.append("assignee")
        params["assignee"] = q.assignee
    for name in ("sla_status", "created_after", "created_before"):
        if getattr(q, name) is not None:
            filters.append(name)
            params[name] = getattr(q, name)
    if q.cursor is not None:
        params["cursor"] = q.cursor
    params["limit"] = q.limit
    return queries.list_feedback(s.filter, filters, q.sort, after=q.cursor is not None, item=item), params


def list_page(rows: list[list[Any]]) -> tuple[str, str | None]:
    items, next_cursor, cursor_known = rows[0]
    if not cursor_known:
        raise errors.ValidationFailed(
            "The cursor names no item of this list: send the `next` of the page before, unchanged.",
            errors=[{"field": "cursor", "message": "Not a cursor of this list", "type": "unknown_cursor"}])
    return items, next_cursor


# --- edit


def update(tx: Tx, p: Principal, item_id: uuid.UUID, body: FeedbackUpdate) -> str:
    fields = sorted(body.model_fields_set)
    if not fields:
        raise errors.ValidationFailed("Send at least one field to change.")
    item = lock(tx, p, item_id)
    is_submitter = p.user_id is not None and item.submitted_by == p.user_id
    allowed = set(TRIAGE_FIELDS) if p.can_triage else set()
    if is_submitter and item.status == "new":
        allowed |= SUBMITTER_FIELDS
    refused = [f for f in fields if f not in allowed]
    if refused:
        if is_submitter and item.status != "new" and set(refused) <= SUBMITTER_FIELDS:
            raise errors.Conflict("The submitter may edit an item only while it is new.")
        raise errors.Forbidden(
            "You may not change these fields.",
            errors=[{"field": f, "message": "Not allowed for this caller", "type": "forbidden"} for f in refused],
        )
    values: dict[str, Any] = {name: getattr(body, name) for name in fields}
    audit(tx, p, item.tenant_id, item_id, "edit", {f: item.before[f] for f in fields}, values)
    for name in ("tags", "context"):
        if name in values:
            values[name] = json.dumps(values[name])
    if "priority" in values:
        from shared import outbox, sla

        values["sla_due_at"] = sla.due_at(values["priority"], item.created_at)
        if values["priority"] in settings().github_priorities:
            outbox.enqueue(tx, queries.ENQUEUE_GITHUB, tenant=item.tenant_id, id=item_id, reason="priority")
        if values["priority"] in ALERTING and values["priority"] != item.before["priority"]:
            outbox.enqueue(tx, queries.ENQUEUE_ALERTS, tenant=item.tenant_id, id=item_id, priority=values["priority"])
    return tx.scalar_and_commit(
        queries.update_feedback(fields), tenant=item.tenant_id, id=item_id, **values, **viewer(p)
    )


# --- votes


def vote(tx: Tx, p: Principal, item_id: uuid.UUID, *, add: bool) -> dict[str, Any]:
    item = lock(tx, p, item_id)
    if item.status in CLOSED:
        raise errors.Conflict(f"Voting is closed on {item.status} items.")
    ident = {"tenant": item.tenant_id, "id": item_id, "user": p.user_id}
    tx.rows(queries.ADD_VOTE if add else queries.REMOVE_VOTE, **ident)
    count, voted = tx.rows_and_commit(queries.VOTE_STATE, **ident)[0]
    return {"id": str(item_id), "vote_count": count, "voted": voted}


# --- stats


def stats(tx: Tx, p: Principal, tenant_id: uuid.UUID | None) -> str:
    s = scope(p, tenant_id)
    return tx.scalar_and_commit(s.sql(queries.STATS), **s.params)
