"""A real PostgreSQL for every test run: TEST_DATABASE_URL or DATABASE_URL if set,
otherwise an embedded server. Each run works in a fresh database of its own."""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pg8000.native
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import db, embedded, migrations, tenancy  # noqa: E402
from shared.config import settings  # noqa: E402
from shared.db import parse_database_url  # noqa: E402

SERVER_URL_VARS = ("TEST_DATABASE_URL", "DATABASE_URL")


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A superuser URL of the PostgreSQL server the tests use."""
    for var in SERVER_URL_VARS:
        if os.environ.get(var):
            return os.environ[var]
    return embedded.start(tmp_path_factory.mktemp("pg") / "data")


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
    import json
    import subprocess

    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], capture_output=True, text=True,
                          env=env, timeout=60)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout + done.stderr
    return done.returncode, json.loads(lines[0])


def raw_connection(url: str) -> Any:
    return pg8000.native.Connection(**parse_database_url(url))


OUTBOX_COLUMNS = ("id", "kind", "payload", "attempts", "outcome", "last_error", "next_attempt_at", "done_at")


def outbox_rows(url: str, item_id: str, kind: str) -> list[dict[str, Any]]:
    """An item's outbox rows of one kind, oldest first, as the database holds them."""
    conn = raw_connection(url)
    try:
        rows = conn.run(f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox"
                        " WHERE feedback_id = :id AND kind = :kind ORDER BY id", id=uuid.UUID(item_id), kind=kind)
    finally:
        conn.close()
    return [dict(zip(OUTBOX_COLUMNS, row)) for row in rows]


def make_due(url: str, event_id: int) -> None:
    """Move an event's backoff and its next sweep into the past, as waiting would."""
    conn = raw_connection(url)
    try:
        conn.run("UPDATE outbox SET next_attempt_at = now() - interval '1 second',"
                 " sweep_after = now() - interval '1 second' WHERE id = :id", id=event_id)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Any:
    """A migrated database for the session, set as DATABASE_URL for the code under test."""
    url = fresh_database(server_url)
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "MIGRATION_DATABASE_URL")}
    os.environ["DATABASE_URL"] = url
    os.environ.pop("MIGRATION_DATABASE_URL", None)
    db.reset_pools()
    conn = db.pool(owner=True).acquire()
    migrations.migrate(conn)
    db.pool(owner=True).release(conn)
    yield url
    db.reset_pools()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    drop_database(server_url, url)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Any:
    """Set environment variables for one test; settings are re-read around it."""

    def set_env(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        settings.cache_clear()

    yield set_env
    monkeypatch.undo()
    settings.cache_clear()


@pytest.fixture(scope="session")
def app(database_url: str) -> Any:
    import functions_framework

    return functions_framework.create_app(target="feedback", source=str(ROOT / "functions/feedback/main.py"))


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture(scope="session")
def admin_app(database_url: str) -> Any:
    import functions_framework

    return functions_framework.create_app(target="admin", source=str(ROOT / "functions/admin/main.py"))


@pytest.fixture
def admin(admin_app: Any) -> Any:
    return admin_app.test_client()


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`manage.py serve` on a free port for the module's tests (tests/live.py)."""
    from live import LiveServer

    server = LiveServer(database_url, tmp_path_factory.mktemp("live") / "server.log")
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="session")
def secret_store() -> Any:
    """A Secret Manager stand-in (tests/secret_manager.py) for the session."""
    from secret_manager import SecretManagerStandIn

    store = SecretManagerStandIn()
    yield store
    store.close()


class Tenant:
    """A tenant with an API key per role."""

    def __init__(self, name: str) -> None:
        made = tenancy.create_tenant(name)
        self.id = uuid.UUID(made["id"])
        self.intake_key = made["intake_key"]
        self.keys = {role: tenancy.create_key(self.id, role)["token"] for role in ("member", "admin", "staff")}
        self.other_member = tenancy.create_key(self.id, "member")["token"]

    def auth(self, role: str = "member") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@pytest.fixture
def tenant(database_url: str) -> Tenant:
    return Tenant(f"tenant-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def other_tenant(database_url: str) -> Tenant:
    return Tenant(f"other-{uuid.uuid4().hex[:6]}")


def item_body(**overrides: Any) -> dict[str, Any]:
    body = {"feedback_type": "bug", "summary": "Login fails with SAML SSO", "description": "Steps..."}
    body.update(overrides)
    return body


def submit(client: Any, tenant: Tenant, role: str = "member", **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/v1/feedback/", json=item_body(**overrides), headers=tenant.auth(role))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """The functions made the root logger write JSON at INFO; the embedded server's goodbye
    at exit stays out of the output after the summary."""
    import logging

    logging.getLogger().setLevel(logging.WARNING)
