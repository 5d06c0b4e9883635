"""What tests share besides fixtures: databases, operator commands, tenants, items,
and direct SQL on the test database (its connections are closed by the session's
`sql_connections` fixture, in conftest.py)."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pg8000.native

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import api_keys, embedded, tenants  # noqa: E402
from shared.db import parse_database_url  # noqa: E402

SERVER_URL_VARS = ("TEST_DATABASE_URL", "DATABASE_URL")
BASE = "/api/v1/feedback/"
SMTP_PASSWORD = "s3cret-smtp-pass"  # the SMTP stand-in's, kept in Secret Manager's


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    return embedded.with_database(server_url, f"pf_test_{uuid.uuid4().hex[:12]}")


def drop_database(server_url: str, url: str) -> None:
    name = parse_database_url(url)["database"]
    conn = pg8000.native.Connection(**parse_database_url(server_url))
    try:
        conn.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def manage(database_url: str, *args: str) -> tuple[int, dict[str, Any]]:
    """`manage.py ARGS` as an operator runs it (with --json among ARGS): exit code and document."""
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], capture_output=True, text=True,
                          env=env, timeout=60)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout + done.stderr
    return done.returncode, json.loads(lines[0])


OUTBOX_COLUMNS = ("id", "kind", "payload", "attempts", "outcome", "last_error", "next_attempt_at", "done_at")


def outbox_rows(url: str, item_id: str, kind: str) -> list[dict[str, Any]]:
    """An item's outbox rows of one kind, oldest first, as the database holds them."""
    rows = sql(url, f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox"
               " WHERE feedback_id = :id AND kind = :kind ORDER BY id", id=uuid.UUID(item_id), kind=kind)
    return [dict(zip(OUTBOX_COLUMNS, row)) for row in rows]


def make_due(url: str, event_id: int) -> None:
    """Move an event's backoff and its next sweep into the past, as waiting would."""
    sql(url, "UPDATE outbox SET next_attempt_at = now() - interval '1 second',"
             " sweep_after = now() - interval '1 second' WHERE id = :id", id=event_id)


def wait_until(condition: Callable[[], Any], timeout: float = 10, what: str = "the condition") -> Any:
    """Poll `condition` until it returns something true (returned), or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


_connections: dict[str, tuple[Any, threading.Lock]] = {}
_connections_lock = threading.Lock()


def sql(url: str, statement: str, /, **params: Any) -> list[list[Any]]:
    """Run one statement on the database at `url` as its superuser, outside the code under
    test (to arrange or inspect what the code cannot); committed at once."""
    with _connections_lock:
        if url not in _connections:
            _connections[url] = (pg8000.native.Connection(**parse_database_url(url)), threading.Lock())
        conn, lock = _connections[url]
    with lock:
        return conn.run(statement, **params)


def close_connections() -> None:
    with _connections_lock:
        for conn, _ in _connections.values():
            with contextlib.suppress(Exception):  # its database may be dropped already
                conn.close()
        _connections.clear()


class Tenant:
    """A tenant with an API key per role."""

    def __init__(self, name: str) -> None:
        made = tenants.create_tenant(name)
        self.id = uuid.UUID(made["id"])
        self.intake_key = made["intake_key"]
        self.keys = {role: api_keys.create_key(self.id, role)["token"] for role in ("member", "admin", "staff")}
        self.other_member = api_keys.create_key(self.id, "member")["token"]

    def auth(self, role: str = "member") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def item_body(**overrides: Any) -> dict[str, Any]:
    body = {"feedback_type": "bug", "summary": "Login fails with SAML SSO", "description": "Steps..."}
    body.update(overrides)
    return body


def submit(client: Any, tenant: Tenant, role: str = "member", **overrides: Any) -> dict[str, Any]:
    """The new item as every later read shows it (the answer's status page link left out)."""
    response = client.post(BASE, json=item_body(**overrides), headers=tenant.auth(role))
    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    assert BASE + "follow/?token=" in item.pop("status_url")
    return item
