"""The team's morning digest. Each working morning (a business day, from DIGEST_HOUR, 8 by
default, in the tenant's time zone) each admin who takes it gets one mail: the open items due today and
not yet answered, the open items past their SLA, and the items made since their last
digest. A digest with nothing in it is not sent. Run by the sweep function on its own
Cloud Scheduler job (hourly), and by the local server's sweeper; a person's digest is
made once a day (their row is locked and stamped in the transaction that writes it).
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from shared import db, outbox, queries, sla
from shared.config import settings
from shared.workflow import CLOSED


def run(now: dt.datetime | None = None) -> dict[str, int]:
    """Make the digests that are due; how many were written and how many had nothing in them."""
    now = now or dt.datetime.now(dt.UTC)
    with db.transaction() as tx:
        tx.set_tenant(None, staff=True)
        tenants = tx.records(queries.DIGEST_TENANTS)
    counts = {"sent": 0, "empty": 0}
    for tenant in tenants:
        local = now.astimezone(sla.zone(tenant["time_zone"]))
        if local.hour >= settings().digest_hour and sla.is_business_day(local.date()):
            for outcome in _tenant(tenant["id"], local, now):
                counts[outcome] += 1
    return counts


def _tenant(tenant_id: uuid.UUID, local: dt.datetime, now: dt.datetime) -> list[str]:
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = day_start + dt.timedelta(days=1)
    outcomes = []
    with db.transaction() as tx:
        tx.set_tenant(tenant_id)
        for person in tx.records(queries.DIGEST_DUE_PEOPLE, tenant=tenant_id, day_start=day_start):
            since = person["last_digest_at"] or now - dt.timedelta(days=1)
            content = tx.record(queries.DIGEST_CONTENT, tenant=tenant_id, closed=sorted(CLOSED), now=now,
                                day_end=day_end, since=since)
            assert content is not None  # one row of aggregates (JSON arrays, read as lists)
            parts: dict[str, Any] = dict(content)
            if any(parts.values()):
                outbox.enqueue(tx, queries.ENQUEUE_DIGEST, tenant=tenant_id, email=person["email"], name=person["name"],
                               day=local.date().isoformat(), **{k: json.dumps(v) for k, v in parts.items()})
                outcomes.append("sent")
            else:
                outcomes.append("empty")
            tx.rows(queries.DIGEST_DONE, id=person["id"], at=now)
    return outcomes
