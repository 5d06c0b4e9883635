"""Plain SQL migrations: `sql/NNNN_name.sql`, applied in order, each in a transaction.

Applied files are recorded with a SHA-256 checksum; editing one afterwards is an
error. A session advisory lock makes concurrent runners take turns: the second one
finds everything applied and does nothing.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pg8000.exceptions import DatabaseError

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
SCHEMA_DUMP = "schema.sql"  # what the migrations produce, for reading (shared/schema_dump.py)
# Any constant works; it only has to be the same for every runner.
LOCK_KEY = 0x70665F6D6967  # "pf_mig"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    varchar(4) PRIMARY KEY,
    name       text NOT NULL,
    checksum   varchar(64) NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


class MigrationError(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    found = []
    for path in sorted(sql_dir.glob("*.sql")):
        if path.name == SCHEMA_DUMP:
            continue
        match = FILE_PATTERN.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(match.group(1), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return found


def applied(conn: Any) -> dict[str, str]:
    """version -> checksum of what the database has applied ({} before the first run)."""
    exists = conn.run("SELECT to_regclass('schema_migrations') IS NOT NULL", {})[0][0]
    if not exists:
        return {}
    return dict(conn.run("SELECT version, checksum FROM schema_migrations", {}))


def verify(conn: Any, migrations: list[Migration]) -> list[Migration]:
    """The pending migrations; raise if an applied file changed or disappeared."""
    done = applied(conn)
    known = {m.version: m for m in migrations}
    for version, checksum in done.items():
        m = known.get(version)
        if m is None:
            raise MigrationError(f"migration {version} is applied but its file is missing")
        if m.checksum != checksum:
            raise MigrationError(f"{m.path.name} was edited after it was applied")
    return [m for m in migrations if m.version not in done]


def migrate(conn: Any, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations over an owner's `shared.db.Connection`.

    Returns the names of the files applied by this call.
    """
    migrations = discover(sql_dir)
    conn.run("SELECT pg_advisory_lock(:key)", {"key": LOCK_KEY})
    try:
        conn.simple(CREATE_TABLE)
        done = []
        for m in verify(conn, migrations):
            conn.simple("BEGIN")
            try:
                conn.simple(m.path.read_text())
                conn.run(
                    "INSERT INTO schema_migrations (version, name, checksum)"
                    " VALUES (:v, :n, :c)",
                    {"v": m.version, "n": m.name, "c": m.checksum},
                )
                conn.simple("COMMIT")
            except DatabaseError as exc:
                conn.simple("ROLLBACK")
                info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
                raise MigrationError(f"{m.path.name}: {info.get('M', exc)}") from exc
            done.append(m.path.name)
        return done
    finally:
        conn.run("SELECT pg_advisory_unlock(:key)", {"key": LOCK_KEY})


def grant_service_role(conn: Any, role: str, users: list[str]) -> None:
    """Let each database user (a function's IAM user) assume the service role, and
    nothing else: the role is all a function may do."""
    from shared.db import quote_ident

    for user in users:
        conn.simple(f"GRANT {quote_ident(role)} TO {quote_ident(user)}")


def make_next(name: str, sql_dir: Path = SQL_DIR) -> Path:
    """Create the next numbered, empty migration file."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise MigrationError("a migration needs a name of letters or digits")
    existing = discover(sql_dir)
    number = int(existing[-1].version) + 1 if existing else 1
    path = sql_dir / f"{number:04d}_{slug}.sql"
    path.write_text(f"-- {name}\n")
    return path
