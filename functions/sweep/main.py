"""The outbox sweep: publishes again what is due (a publish that was lost, an
attempt whose backoff is over) and gives up on events too old to deliver; then
purges what is kept only for a while (shared/retention.py). At /digest, the team's
morning digests that are due (shared/digest.py), on a scheduler job of their own.

Deployed as one Cloud Function (entry point `sweep`), called by Cloud Scheduler;
only the scheduler's service account may invoke it.
"""
from __future__ import annotations

import sys
from pathlib import Path

# The deployed bundle keeps the repository's layout: shared/ is two levels up.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import functions_framework  # noqa: E402

from shared import digest, logs, outbox, retention  # noqa: E402
from shared.config import start  # noqa: E402

start()


@functions_framework.http
def sweep(request):  # noqa: ANN001 - functions-framework passes a flask.Request
    if request.path.rstrip("/").endswith("/digest"):
        made = digest.run()
        logs.log("INFO", "digests made", **made)
        return made
    published = outbox.sweep()
    logs.log("INFO", "outbox swept", published=len(published))
    return {"published": len(published), "purged": retention.purge()}
