"""GitHub issues from feedback: takes the outbox's events from Pub/Sub and makes
one issue per qualifying item (high and urgent, or asked for by an admin).

Deployed as one Cloud Function (entry point `github_sync`) triggered by the
events topic. A transient failure raises, so Pub/Sub delivers the event again;
a permanent one is recorded on the item and leaves the event dead.
"""
from __future__ import annotations

import sys
from pathlib import Path

# The deployed bundle keeps the repository's layout: shared/ is two levels up.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import functions_framework  # noqa: E402

from shared import github_issues, outbox  # noqa: E402
from shared.config import start  # noqa: E402

start()

HANDLERS = {"github": github_issues.make_issue}


@functions_framework.cloud_event
def github_sync(cloud_event):  # noqa: ANN001 - a cloudevents.http.CloudEvent
    outbox.take(cloud_event.data, HANDLERS, "github_sync")
