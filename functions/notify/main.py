"""Mail to submitters: takes the outbox's events from Pub/Sub and sends the mail rows.

Deployed as one Cloud Function (entry point `notify`) triggered by the events
topic. A failed send raises, so Pub/Sub delivers the event again; a mail already
sent or being sent is not sent again.
"""
from __future__ import annotations

import sys
from pathlib import Path

# The deployed bundle keeps the repository's layout: shared/ is two levels up.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import functions_framework  # noqa: E402

from shared import mail_delivery, outbox  # noqa: E402
from shared.config import start  # noqa: E402

start()

HANDLERS = {"mail": mail_delivery.send_notice}


@functions_framework.cloud_event
def notify(cloud_event):  # noqa: ANN001 - a cloudevents.http.CloudEvent
    outbox.take(cloud_event.data, HANDLERS, "notify")
