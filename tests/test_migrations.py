"""The migration runner on fresh databases: order, checksums, concurrency, and a schema
that every statement of the code prepares against."""
from __future__ import annotations

import os
import shutil
import threading

import pg8000.native
import pytest
from helpers import SERVER_URL_VARS, drop_database, fresh_database

from shared import db, migrations, queries
from shared.db import Connection, url_connector


@pytest.fixture
def scratch(server_url):
    """A fresh, empty database and a way to open owner connections to it."""
    url = fresh_database(server_url)
    opened: list[Connection] = []

    def connect() -> Connection:
        conn = Connection(url_connector(url)(), None)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()
    drop_database(server_url, url)


def test_applies_in_order_once(scratch):
    conn = scratch()
    names = [m.path.name for m in migrations.discover()]
    assert migrations.migrate(conn) == names
    assert migrations.migrate(conn) == []
    recorded = conn.run("SELECT version FROM schema_migrations ORDER BY version", {})
    assert [r[0] for r in recorded] == [m.version for m in migrations.discover()]


def test_concurrent_runners_apply_each_file_once(scratch):
    results: list[list[str]] = []
    failures: list[BaseException] = []
    conns = [scratch() for _ in range(4)]
    barrier = threading.Barrier(len(conns))

    def run(conn: Connection) -> None:
        barrier.wait()
        try:
            results.append(migrations.migrate(conn))
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    applied = [name for r in results for name in r]
    assert sorted(applied) == sorted(m.path.name for m in migrations.discover())


def test_an_edited_applied_file_is_refused(scratch, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(migrations.SQL_DIR, sql_dir)
    conn = scratch()
    migrations.migrate(conn, sql_dir)
    first = sorted(sql_dir.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(migrations.MigrationError, match="edited"):
        migrations.migrate(conn, sql_dir)


def test_a_failing_migration_leaves_nothing_behind(scratch, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(migrations.SQL_DIR, sql_dir)
    conn = scratch()
    migrations.migrate(conn, sql_dir)
    broken = migrations.make_next("half done", sql_dir)
    broken.write_text("CREATE TABLE half_done (id int);\nSELECT no_such_function();\n")
    with pytest.raises(migrations.MigrationError, match=rf"{broken.name}: .*no_such_function"):
        migrations.migrate(conn, sql_dir)
    assert conn.run("SELECT to_regclass('half_done') IS NULL", {})[0][0]
    assert broken.name[:4] not in migrations.applied(conn)


def test_makemigrations_numbers_the_next_file(tmp_path):
    (tmp_path / "0001_first.sql").write_text("-- one\n")
    made = migrations.make_next("Add Widgets!", tmp_path)
    assert made.name == "0002_add_widgets.sql"
    assert made.read_text().startswith("--")


def test_every_statement_of_the_code_prepares_against_the_schema(database_url):
    """Applying all migrations gives the schema the code expects."""
    statements = []
    for name, value in vars(queries).items():
        if name.startswith("_"):
            continue
        if name.isupper() and isinstance(value, queries.Scoped):
            statements += list(value)  # both ways: over one tenant and over all
        elif name.isupper() and isinstance(value, str) and value.lstrip().split(" ")[0].upper() in (
                "SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            statements.append(value)
    for scope in (queries.TENANT_SCOPE, queries.ALL_TENANTS):
        for sort in queries.SORTS:
            statements.append(queries.list_feedback(scope, list(queries.LIST_FILTERS), sort, after=True))
    statements.append(queries.update_feedback(list(queries.UPDATABLE)))
    assert len(statements) > 40 and not [s for s in statements if "<scope>" in s or "{" in s.replace("'{}'", "")]
    with db.transaction() as tx:
        for sql in statements:
            pg8000.native.PreparedStatement(tx._conn.raw, sql)  # the server parses it; raises if wrong


def test_sql_schema_sql_is_what_the_migrations_produce(server_url, tmp_path):
    """sql/schema.sql, dumped from a fresh migration on the embedded server (another server's
    catalog may add options of its own), is current: `python manage.py schema > sql/schema.sql`."""
    from shared import embedded, schema_dump

    own_server = any(os.environ.get(v) for v in SERVER_URL_VARS)
    url = embedded.start(tmp_path / "pg") if own_server else server_url
    assert schema_dump.fresh(url) == schema_dump.SCHEMA_FILE.read_text(), (
        "stale: run `python manage.py schema > sql/schema.sql`")
    assert "schema.sql" not in [m.path.name for m in migrations.discover()]
