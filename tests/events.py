"""Outbox events delivered to an event function as Pub/Sub delivers them: a
message-published CloudEvent through functions-framework's own test client."""
from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from cloudevents.http import CloudEvent, to_binary



def deliverer(app: Any, kind: str) -> Any:
    """deliver(event_id) -> the HTTP status functions-framework answers Pub/Sub with."""
    client = app.test_client()

    def deliver(event_id: int) -> int:
        data = {"event_id": event_id, "kind": kind}
        event = CloudEvent(
            {"type": "google.cloud.pubsub.topic.v1.messagePublished",
             "source": "//pubsub.googleapis.com/projects/p/topics/feedback-events"},
            {"message": {"data": base64.b64encode(json.dumps(data).encode()).decode(),
                         "attributes": {"kind": kind}, "messageId": uuid.uuid4().hex},
             "subscription": "projects/p/subscriptions/" + kind},
        )
        headers, body = to_binary(event)
        return client.post("/", headers=headers, data=body).status_code

    return deliver


def push(app: Any, event_id: int, kind: str, topic: str = "projects/p/topics/feedback-events") -> int:
    """Deliver as a Pub/Sub push subscription does: the raw push body, POSTed to a path
    ending in the topic (functions-framework makes the CloudEvent from it)."""
    body = {"message": {"data": base64.b64encode(json.dumps({"event_id": event_id, "kind": kind}).encode()).decode(),
                        "attributes": {"kind": kind}, "messageId": uuid.uuid4().hex,
                        "publishTime": "2026-11-27T10:00:00Z"},
            "subscription": "projects/p/subscriptions/" + kind}
    return app.test_client().post("/" + topic, json=body).status_code
