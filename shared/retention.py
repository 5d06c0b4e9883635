"""Purging what is kept only for a while: idempotency records, rate counters, webhook
deliveries, finished outbox events and the record of mails taken, each by age, a batch
per run.

Run by the sweep (deployed: Cloud Scheduler; locally: `manage.py serve`). The service
deletes nothing itself: it calls one database function that deletes only what is old.
"""
from __future__ import annotations

from shared import db, logs, queries
from shared.config import settings

BATCH = 5000
# The web widget sends a kept submission again, under its Idempotency-Key, for this long after
# it was written (widget.js's RETRY_WINDOW_HOURS is the same number). Its record outlives that
# whatever IDEMPOTENCY_RETENTION_HOURS says, or a late retry would make a second item.
WIDGET_RETRY_HOURS = 48


def purge() -> dict[str, int]:
    """What each table gave up in this run."""
    cfg = settings()
    with db.transaction() as tx:
        rows = tx.rows(queries.PURGE_EXPIRED, retention_days=cfg.retention_days, batch=BATCH,
                       idempotency_hours=max(cfg.idempotency_retention_hours, WIDGET_RETRY_HOURS + 1))
    purged = {what: count for what, count in rows}
    if any(purged.values()):
        logs.log("INFO", "expired records purged", **purged)
    return purged
