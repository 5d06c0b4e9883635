"""Publishing outbox events to the functions that deliver them.

Deployed, events go to the Pub/Sub topic EVENTS_TOPIC (google-cloud-pubsub,
imported here only, on the first publish), whose subscription for each kind
delivers them to its event function. The local server (EVENTS_PUSH_URL) instead
receives each event as Pub/Sub would push it: a message-published CloudEvent to
the function of its kind, sent from a background thread so the change's request
does not wait for it. A publish that fails loses nothing: the row stays due for
the sweep.
"""
from __future__ import annotations

import base64
import datetime
import functools
import json
import queue
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared import logs
from shared.config import settings

# Each kind of event and the event function that delivers it: one subscription each
# (Terraform's functions.<name>.kind filters the topic by it; the local push does so too).
SUBSCRIBERS = {"mail": "notify", "github": "github_sync"}
PUBLISH_TIMEOUT_SECONDS = 3  # then the sweep publishes it: a change never waits long
LOCAL_TOPIC = "//pubsub.googleapis.com/projects/local/topics/feedback-events"


@dataclass(frozen=True)
class Event:
    """An outbox row to deliver: what a message carries."""

    id: int
    kind: str


# --- events as Pub/Sub messages (what is published and what event functions receive)


def message_data(event: Event) -> bytes:
    return json.dumps({"event_id": event.id, "kind": event.kind}).encode()


def from_cloud_event(data: Mapping[str, Any]) -> Event:
    """The event in a Pub/Sub message-published CloudEvent's data."""
    body = json.loads(base64.b64decode(data["message"]["data"]))
    return Event(int(body["event_id"]), str(body["kind"]))


_pending: queue.Queue[Event] = queue.Queue()
_worker_lock = threading.Lock()
_worker: threading.Thread | None = None


def publish(events: list[Event]) -> None:
    cfg = settings()
    if cfg.events_push_url:
        for event in events:
            _pending.put(event)
        _ensure_worker()
    elif cfg.events_topic:
        futures = [_publisher().publish(cfg.events_topic, message_data(e), kind=e.kind) for e in events]
        for future in futures:
            future.result(timeout=PUBLISH_TIMEOUT_SECONDS)


@functools.cache
def _publisher() -> Any:
    from google.cloud.pubsub_v1 import PublisherClient

    from shared.google_clients import rest_client

    return rest_client(PublisherClient, settings().pubsub_endpoint)


def _ensure_worker() -> None:
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_push_forever, name="event-relay", daemon=True)
            _worker.start()


def _push_forever() -> None:
    while True:
        event = _pending.get()
        subscriber = SUBSCRIBERS[event.kind]
        try:
            _push(settings().events_push_url + "/" + subscriber, event)
        except Exception as exc:
            logs.log("WARNING", "event push failed", event_id=event.id, subscriber=subscriber,
                     error=f"{type(exc).__name__}: {exc}")


def _push(url: str, event: Event) -> None:
    """POST the event as a binary-mode message-published CloudEvent (an error status raises)."""
    import urllib.request  # the local server's push only: deployed functions never load it

    message_id = uuid.uuid4().hex  # each delivery is its own message, as a republish would be
    now = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")
    data = {
        "message": {
            "data": base64.b64encode(message_data(event)).decode(),
            "attributes": {"kind": event.kind},
            "messageId": message_id,
            "publishTime": now,
        },
        "subscription": "projects/local/subscriptions/" + url.rsplit("/", 1)[-1],
    }
    request = urllib.request.Request(
        url,
        data=json.dumps(data).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "ce-id": message_id,
            "ce-specversion": "1.0",
            "ce-source": LOCAL_TOPIC,
            "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
            "ce-time": now,
        },
    )
    with urllib.request.urlopen(request, timeout=30):
        pass
