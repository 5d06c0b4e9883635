"""A real PostgreSQL for every test run: TEST_DATABASE_URL or DATABASE_URL if set,
otherwise an embedded server. Each run works in a fresh database of its own."""
from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from helpers import ROOT, SERVER_URL_VARS, SMTP_PASSWORD, Tenant, close_connections, drop_database, fresh_database

from shared import db, embedded, migrations
from shared.config import settings


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A superuser URL of the PostgreSQL server the tests use."""
    for var in SERVER_URL_VARS:
        if os.environ.get(var):
            return os.environ[var]
    return embedded.start(tmp_path_factory.mktemp("pg") / "data")


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
def function_app(database_url: str) -> Any:
    """app(group) -> the function group as functions-framework loads it (an event group as a
    CloudEvent function), made once per session."""
    import functions_framework

    from shared.relay import SUBSCRIBERS

    apps: dict[str, Any] = {}

    def app(group: str) -> Any:
        if group not in apps:
            apps[group] = functions_framework.create_app(
                target=group, source=str(ROOT / "functions" / group / "main.py"),
                signature_type="cloudevent" if group in SUBSCRIBERS.values() else "http")
        return apps[group]

    return app


@pytest.fixture
def client(function_app: Any) -> Any:
    return function_app("feedback").test_client()


@pytest.fixture
def admin(function_app: Any) -> Any:
    return function_app("admin").test_client()


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`manage.py serve` on a free port for the module's tests (tests/live.py)."""
    from live import LiveServer

    server = LiveServer(database_url, tmp_path_factory.mktemp("live") / "server.log")
    yield server
    assert server.stop() == 0


@pytest.fixture
def mailbox(tmp_path: Any, env: Any, secret_store: Any) -> Any:
    """A live SMTP server; the service configured for it, its password in Secret Manager."""
    from standins.smtp import Mailbox

    from shared import secrets

    box = Mailbox(tmp_path, SMTP_PASSWORD).start()
    name = secret_store.add_version("p", f"smtp-{uuid.uuid4().hex[:6]}", SMTP_PASSWORD)
    env(**box.env(), SMTP_PASSWORD_SECRET=name, SECRET_MANAGER_ENDPOINT=secret_store.url,
        PUBLIC_BASE_URL="https://feedback.example.com")
    secrets.reset()
    yield box
    box.stop()
    secrets.reset()


@pytest.fixture(scope="session")
def secret_store() -> Any:
    """A Secret Manager stand-in (tests/standins/secret_manager.py) for the session."""
    from standins.secret_manager import SecretManagerStandIn

    store = SecretManagerStandIn()
    yield store
    store.close()


@pytest.fixture(scope="session", autouse=True)
def sql_connections() -> Any:
    """The connections helpers.sql opened, closed when the session ends."""
    yield
    close_connections()


@pytest.fixture
def connection(database_url: str) -> Any:
    """connect(url=the test database) -> a connection of the test's own (for a transaction
    held open, or a role of its own), closed when the test ends."""
    import pg8000.native

    from shared.db import parse_database_url

    made = []

    def connect(url: str = database_url) -> Any:
        made.append(pg8000.native.Connection(**parse_database_url(url)))
        return made[-1]

    yield connect
    for conn in made:
        conn.close()


@pytest.fixture
def tenant(database_url: str) -> Tenant:
    return Tenant(f"tenant-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def other_tenant(database_url: str) -> Tenant:
    return Tenant(f"other-{uuid.uuid4().hex[:6]}")


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """The functions made the root logger write JSON at INFO; the embedded server's goodbye
    at exit stays out of the output after the summary."""
    import logging

    logging.getLogger().setLevel(logging.WARNING)
