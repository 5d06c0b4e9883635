"""Side effects of a change, written in the change's transaction, delivered after it.

A change that must reach the world (a mail to the submitter; a GitHub issue)
writes an outbox row in its own transaction, so the row exists exactly when the
change does. After commit the relay publishes the row's id; the event function
for its kind locks the row, performs the effect and marks the row done in one
transaction, so a redelivered or concurrent event finds nothing left to do.
Failures are recorded with backoff; the sweep publishes due rows again until
they are done, or dead after too many attempts or too long.
"""
from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared import db, errors, logs, queries, relay
from shared.relay import Event
from shared.db import Tx

BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
MAX_ATTEMPTS = 12  # about eight hours of tries at the backoff above
MAX_AGE_SECONDS = 3 * 24 * 3600
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Claimed:
    """A row locked for its delivery: what a handler works from."""

    id: int
    tenant_id: uuid.UUID
    feedback_id: uuid.UUID | None  # none for a mail about no item (a sign-in link)
    created_at: datetime.datetime
    payload: dict[str, Any]

    @property
    def item_id(self) -> uuid.UUID:
        """The item the event is about, for the kinds that always have one."""
        if self.feedback_id is None:
            raise PermanentFailure(f"event {self.id} names no item")
        return self.feedback_id


class PermanentFailure(Exception):
    """The effect can never succeed (the address is refused, say): the row is dead."""


class RetryLater(Exception):
    """A transient failure that names the earliest time to try again (a rate limit's reset)."""

    def __init__(self, message: str, not_before: datetime.datetime) -> None:
        super().__init__(message)
        self.not_before = not_before


class DeliveryFailed(Exception):
    """An attempt failed and was recorded; the event is retried later."""


# What a kind's handler does with a locked row: returns "sent" or "skipped", or
# raises PermanentFailure, or RetryLater, or anything else for a retry with backoff.
Handler = Callable[[Tx, Claimed], str]


def enqueue(tx: Tx, sql: str, **params: Any) -> None:
    """Write outbox rows with `sql` (returning id, kind) and publish them after commit."""
    publish_after_commit(tx, [Event(event_id, kind) for event_id, kind in tx.rows(sql, **params)])


def publish_after_commit(tx: Tx, events: list[Event]) -> None:
    if events:
        tx.after_commit.append(lambda: _publish(events))


def _publish(events: list[Event]) -> None:
    relay.publish(events)


def deliver(event_id: int, handlers: Mapping[str, Handler]) -> str:
    """Perform one event's effect once; its outcome, "none" when nothing was left to
    do, or "not due" when an earlier failure deferred it (the sweep publishes it then)."""
    with db.transaction() as tx:
        tx.set_tenant(None, staff=True)  # the event names its row; the row names its tenant
        row = tx.record(queries.CLAIM_EVENT, id=event_id, max_age=MAX_AGE_SECONDS)
        if row is None:
            return "none"  # done, dead, or in another delivery right now
        kind, attempts = row["kind"], row["attempts"]
        handler = handlers.get(kind)
        if handler is None:
            return "none"  # another function's kind
        if row["expired"]:
            _finish(tx, event_id, kind, "dead", "expired undelivered")
            return "dead"
        if row["deferred"]:
            return "not due"
        try:
            outcome = handler(tx, Claimed(event_id, row["tenant_id"], row["feedback_id"], row["created_at"],
                                          json.loads(row["payload"])))
        except PermanentFailure as exc:
            _finish(tx, event_id, kind, "dead", str(exc))
            return "dead"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if attempts + 1 >= MAX_ATTEMPTS:
                _finish(tx, event_id, kind, "dead", f"gave up after {MAX_ATTEMPTS} attempts; {error}")
                return "dead"
            tx.rows_and_commit(queries.EVENT_FAILED, id=event_id, error=error[:2000], base=BACKOFF_BASE_SECONDS,
                               cap=BACKOFF_CAP_SECONDS, not_before=getattr(exc, "not_before", None))
            logs.log("WARNING", "event delivery failed", event_id=event_id, kind=kind, attempt=attempts + 1,
                     error=error)
            raise DeliveryFailed(f"event {event_id}: {error}") from None
        _finish(tx, event_id, kind, outcome, None)
        return outcome


def _finish(tx: Tx, event_id: int, kind: str, outcome: str, error: str | None) -> None:
    tx.rows_and_commit(queries.EVENT_DONE, id=event_id, outcome=outcome, error=error and error[:2000])
    logs.log("ERROR" if outcome == "dead" else "INFO", "event " + outcome, event_id=event_id, kind=kind,
             error=error)


def sweep() -> list[Event]:
    """Give up on expired rows and publish the due ones again; the events published."""
    with db.transaction() as tx:
        tx.set_tenant(None, staff=True)
        for event_id, kind, tenant_id in tx.rows(queries.EXPIRE_EVENTS, max_age=MAX_AGE_SECONDS):
            logs.log("ERROR", "event expired undelivered", event_id=event_id, kind=kind, tenant_id=tenant_id)
        due = tx.rows(queries.SWEEP_DUE, limit=SWEEP_BATCH, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS)
    events = [Event(event_id, kind) for event_id, kind in due]
    if events:
        _publish(events)
    return events


# --- the dead letters, for operators


def dead(limit: int = 100) -> list[dict[str, Any]]:
    with db.transaction() as tx:
        tx.set_tenant(None, staff=True)
        return tx.records(queries.DEAD_EVENTS, limit=limit)


def replay(event_id: int) -> Event:
    """Make a dead event pending again and publish it; NotFound unless it is dead."""
    with db.transaction() as tx:
        tx.set_tenant(None, staff=True)
        row = tx.one(queries.REPLAY_EVENT, id=event_id)
        if row is None:
            raise errors.NotFound(f"No dead event {event_id}.")
        event = Event(*row)
        publish_after_commit(tx, [event])
    return event


def take(data: Mapping[str, Any], handlers: Mapping[str, Handler], function: str) -> None:
    """An event function's work: deliver the message's event if it is of a kind it handles."""
    event = relay.from_cloud_event(data)
    if event.kind in handlers:
        outcome = deliver(event.id, handlers)
        logs.log("INFO", "event handled", function=function, event_id=event.id, outcome=outcome)
