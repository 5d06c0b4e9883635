"""The relay: outbox events published to Pub/Sub after commit (google-cloud-pubsub's
real client against a local stand-in of the REST API's `topics.publish`)."""
from __future__ import annotations

import base64
import http.server
import json
import threading

import pytest
from helpers import make_due, submit, sql

from shared import relay

TOPIC = "projects/p/topics/feedback-events"


class PubSubStandIn:
    """`POST /v1/{topic}:publish` with `{"messages": [{"data", "attributes"}]}` answers
    `{"messageIds": [...]}`; `fail` makes it answer 503 instead."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.fail = False
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                ok = self.path.split("?")[0] == f"/v1/{TOPIC}:publish" and not stand_in.fail
                if ok:
                    stand_in.messages += body["messages"]
                doc = ({"messageIds": [str(len(stand_in.messages) - i) for i in range(len(body["messages"]))]}
                       if ok else {"error": {"code": 503, "status": "UNAVAILABLE", "message": "stand-in"}})
                out = json.dumps(doc).encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def pubsub_server():
    # Never shut down: a batch the client is still retrying finds it up (a daemon thread).
    return PubSubStandIn()


@pytest.fixture
def pubsub(pubsub_server, env):
    pubsub_server.messages.clear()
    pubsub_server.fail = False
    env(EVENTS_TOPIC=TOPIC, PUBSUB_ENDPOINT=pubsub_server.url, EVENTS_PUSH_URL="")
    relay._publisher.cache_clear()
    yield pubsub_server
    pubsub_server.fail = False
    relay._publisher.cache_clear()


def test_a_committed_event_is_published_to_the_topic(client, tenant, pubsub):
    item = submit(client, tenant, priority="urgent")
    [message] = pubsub.messages
    assert message["attributes"] == {"kind": "github"}
    data = json.loads(base64.b64decode(message["data"]))
    assert data["kind"] == "github" and isinstance(data["event_id"], int)
    assert item["priority"] == "urgent"


def test_a_failed_publish_loses_nothing_and_fails_no_request(client, tenant, pubsub, database_url, capfd):
    pubsub.fail = True
    item = submit(client, tenant, priority="urgent")  # 201: the change is committed
    assert pubsub.messages == []
    assert "after-commit callback failed" in capfd.readouterr().err
    [[outcome]] = sql(database_url, "SELECT outcome FROM outbox WHERE feedback_id = CAST(:id AS uuid)", id=item["id"])
    assert outcome is None  # still due: the sweep publishes it


def test_a_rolled_back_change_publishes_nothing(client, tenant, pubsub):
    response = client.post("/api/v1/feedback/", json={"feedback_type": "bug", "summary": "", "priority": "urgent"},
                           headers=tenant.auth())
    assert response.status_code == 422
    assert pubsub.messages == []


def test_the_sweep_function_publishes_what_is_due(client, tenant, pubsub, database_url, function_app):
    submit(client, tenant, priority="urgent")
    [first] = pubsub.messages  # right after commit
    event_id = json.loads(base64.b64decode(first["data"]))["event_id"]
    sweep = function_app("sweep")

    def swept() -> list[int]:
        before = len(pubsub.messages)
        assert sweep.test_client().post("/").status_code == 200
        return [json.loads(base64.b64decode(m["data"]))["event_id"] for m in pubsub.messages[before:]]

    assert event_id not in swept()  # its publish after commit went out: not due for a minute
    make_due(database_url, event_id)
    assert event_id in swept()
    assert event_id not in swept()  # given its backoff before the next sweep
