"""The one way the service talks to PostgreSQL.

One lazy pool per process over pg8000. A connection comes from the Cloud SQL
Python Connector when INSTANCE_CONNECTION_NAME is set (imported only then: it
costs most of a cold start), straight from a private IP over TLS when DB_HOST
is, otherwise from DATABASE_URL (TCP or unix socket).

Every request runs in one transaction with the tenant set transaction-locally
(`set_config(..., true)`), so a connection handed to the next request carries no
tenant. Statements are prepared once per connection: a prepared statement costs
one round trip where an unnamed one costs three. Driver errors are translated to
domain errors here and nowhere else.
"""
from __future__ import annotations

import collections
import contextlib
import select
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pg8000.core as pg8000_core
import pg8000.native
from pg8000.exceptions import DatabaseError, InterfaceError

from shared import errors, logs, queries
from shared.config import settings

# The role every service connection assumes (sql/0001 makes it): owns nothing, cannot bypass RLS.
SERVICE_ROLE = "pilot_feedback_app"
ACQUIRE_TIMEOUT_SECONDS = 10
STATEMENT_TIMEOUT_MS = 10_000
# Every wait on the database is bounded: making a connection, and (on the service's
# connections) each read, which outlasts the statement timeout by a margin, so a
# frozen or unreachable server costs a request this long at most.
CONNECT_TIMEOUT_SECONDS = 10
READ_MARGIN_SECONDS = 5

# SQLSTATE classes and codes that mean the connection itself is gone.
_CONNECTION_LOST = ("08", "57P01", "57P02", "57P03")
_CONSTRAINT_DETAIL: dict[type[errors.ApiError], str] = {
    errors.ValidationFailed: "A value is too long or not allowed here."}
# SQLSTATEs a request can cause, mapped to what the caller is told.
_CONSTRAINT_ERRORS = {
    "23505": errors.Conflict,  # unique_violation
    "23503": errors.NotFound,  # foreign_key_violation: the parent is not visible
    "23514": errors.ValidationFailed,  # check_violation
    "22001": errors.ValidationFailed,  # string_data_right_truncation
    "42501": errors.NotFound,  # a row-level security check refused the row
}


def parse_database_url(url: str) -> dict[str, Any]:
    """pg8000 connection arguments from a postgresql:// URL.

    `?host=/path/to/dir` names a unix socket directory, as libpq reads it.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("DATABASE_URL must start with postgresql://")
    query = urllib.parse.parse_qs(parts.query)
    kwargs: dict[str, Any] = {
        "user": urllib.parse.unquote(parts.username or "postgres"),
        "database": urllib.parse.unquote(parts.path.lstrip("/")) or None,
    }
    if parts.password:
        kwargs["password"] = urllib.parse.unquote(parts.password)
    port = parts.port or 5432
    socket_dir = query.get("host", [None])[0]
    if socket_dir:
        kwargs["unix_sock"] = f"{socket_dir.rstrip('/')}/.s.PGSQL.{port}"
    else:
        kwargs["host"] = parts.hostname or "localhost"
        kwargs["port"] = port
    kwargs["ssl_context"] = _ssl_context(query.get("sslmode", [""])[0], unix=bool(socket_dir))
    return kwargs


def _ssl_context(sslmode: str, *, unix: bool) -> Any:
    """pg8000's ssl_context for libpq's sslmode.

    pg8000 left alone tries TLS without verifying the server, and builds a
    default context (about 30 ms) for every connection, unix sockets included.
    """
    if unix or sslmode == "disable":
        return False
    if sslmode in ("", "allow", "prefer"):
        return None  # TLS when the server offers it, unverified, as libpq's default
    if sslmode == "require":
        return True  # TLS or nothing, unverified, as libpq does
    if sslmode not in ("verify-ca", "verify-full"):
        raise ValueError(f"unknown sslmode {sslmode!r}")
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = sslmode == "verify-full"
    return context


def url_connector(url: str) -> Callable[[], Any]:
    kwargs = parse_database_url(url)
    return lambda: pg8000.native.Connection(application_name="pilot-feedback", timeout=CONNECT_TIMEOUT_SECONDS,
                                            **kwargs)


def cloud_sql_connector(user: str) -> Callable[[], Any]:
    """Connections through the Cloud SQL Python Connector (lazy refresh, as on Functions)."""
    from google.cloud.sql.connector import Connector, IPTypes

    cfg = settings()
    connector = Connector(refresh_strategy="lazy", ip_type=IPTypes[cfg.db_ip_type],
                          sqladmin_api_endpoint=cfg.sqladmin_api_endpoint or None)

    def connect() -> Any:
        return connector.connect(
            cfg.instance_connection_name,
            "pg8000",
            user=user,
            password=cfg.db_password or None,
            db=cfg.db_name,
            enable_iam_auth=cfg.db_iam_auth,
            timeout=CONNECT_TIMEOUT_SECONDS,
        )

    return connect


def direct_connector(user: str) -> Callable[[], Any]:
    """Straight to the instance's private IP over TLS, verified against its CA, logging
    in as the function's IAM user with its access token: nothing heavy to import."""
    import ssl

    from shared import metadata

    cfg = settings()
    context = ssl.create_default_context(cadata=cfg.db_server_ca or None)
    context.check_hostname = False  # Cloud SQL's certificate names the instance, not its address

    def connect() -> Any:
        password = cfg.db_password or (metadata.access_token() if cfg.db_iam_auth else None)
        return pg8000.native.Connection(
            user=user, password=password, host=cfg.db_host, port=cfg.db_port, database=cfg.db_name,
            ssl_context=context, application_name="pilot-feedback", timeout=CONNECT_TIMEOUT_SECONDS,
        )

    return connect


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Connection:
    """A pooled connection with its own cache of prepared statements.

    `run_batch` sends BEGIN, the statements and COMMIT in one write, so a request
    costs a round trip per write rather than one per statement: on a small machine
    the round trips, not the queries, bound the rate. It uses pg8000's
    message-level methods (the version is pinned; the tests cover every path).
    """

    def __init__(self, raw: Any, role: str | None) -> None:
        self.raw = raw
        self.statements: dict[str, pg8000.native.PreparedStatement] = {}
        setup = ["SET TIME ZONE 'UTC'"]
        if role:
            # The service's connections; the owner's (migrations) may run long.
            setup += [f"SET ROLE {quote_ident(role)}", f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}"]
        raw.execute_simple("; ".join(setup))
        # pg8000's timeout covered the connection's making; the owner's reads may wait.
        raw._usock.settimeout(STATEMENT_TIMEOUT_MS / 1000 + READ_MARGIN_SECONDS if role else None)

    def is_stale(self) -> bool:
        """Whether the server has spoken on an idle connection: it only does so to end
        it (a restart, an idle timeout), so the connection is of no more use."""
        try:
            return bool(select.select([self.raw._usock], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def run(self, sql: str, params: dict[str, Any]) -> list[list[Any]]:
        """One statement on its own (outside a pipelined transaction)."""
        return self._prepared(sql).run(**params)

    def run_batch(
        self, steps: list[tuple[str, dict[str, Any]]], *, begin: bool, commit: bool
    ) -> list[list[list[Any]] | DatabaseError]:
        """Statements sent in one write, with BEGIN ahead and COMMIT behind if asked;
        each step's rows, or the error the server gave for it."""
        raw = self.raw
        # Preparing talks to the server, so it happens before anything is queued.
        statements = [(self._prepared(sql), params) for sql, params in steps]
        if begin:
            raw.send_QUERY("BEGIN")
        replies = [pg8000_core.Context("BEGIN")] * begin
        for statement, params in statements:
            raw.send_BIND(statement.name_bin, pg8000_core.make_params(raw.py_types, statement.make_vals(params)))
            raw.send_EXECUTE()
            pg8000_core._write(raw._sock, pg8000_core.SYNC_MSG)
            replies.append(
                pg8000_core.Context(statement.statement, columns=statement.cols, input_funcs=statement.input_funcs)
            )
        if commit:
            raw.send_QUERY("COMMIT")
            replies.append(pg8000_core.Context("COMMIT"))
        pg8000_core._flush(raw._sock)
        failed = False
        for reply in replies:
            try:
                raw.handle_messages(reply)
            except DatabaseError as exc:
                # The server answered in full: keep reading, so the connection
                # stays in step for the next request.
                reply.error, failed = exc, True
            except InterfaceError:
                # After a failed statement the server answers COMMIT as a
                # ROLLBACK, which pg8000 reports; anything else is the network.
                if not (failed and commit and reply is replies[-1]):
                    raise
        step_replies = replies[begin : begin + len(steps)]
        return [r.error if r.error is not None else r.rows for r in step_replies]

    def columns(self, sql: str) -> list[str]:
        """The names of a prepared statement's result columns."""
        return [c["name"] for c in self._prepared(sql).cols or ()]

    def _prepared(self, sql: str) -> pg8000.native.PreparedStatement:
        statement = self.statements.get(sql)
        if statement is None:
            statement = self.statements[sql] = pg8000.native.PreparedStatement(self.raw, sql)
        return statement

    def simple(self, sql: str) -> None:
        self.raw.execute_simple(sql)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.raw.close()


class Pool:
    """A bounded LIFO pool: a semaphore counts the connections in use."""

    def __init__(self, connect: Callable[[], Any], size: int, role: str | None) -> None:
        self._connect = connect
        self._role = role
        self._idle: collections.deque[Connection] = collections.deque()
        self._slots = threading.BoundedSemaphore(size)

    def acquire(self) -> Connection:
        if not self._slots.acquire(timeout=ACQUIRE_TIMEOUT_SECONDS):
            raise errors.ServiceUnavailable("All database connections are busy; retry shortly.")
        while self._idle:
            try:
                conn = self._idle.pop()
            except IndexError:  # another thread took the last one
                break
            if not conn.is_stale():
                return conn
            conn.close()
        try:
            return Connection(self._connect(), self._role)
        except Exception as exc:
            self._slots.release()
            # Refused, unreachable, or the connector's credentials or instance lookup
            # failed: the caller can only retry, and the reason belongs in the log.
            logs.log("ERROR", "cannot connect to the database", error=type(exc).__name__, reason=str(exc)[:300])
            raise errors.ServiceUnavailable() from None
        except BaseException:
            self._slots.release()
            raise

    def release(self, conn: Connection, *, broken: bool = False) -> None:
        if broken:
            conn.close()
        else:
            self._idle.append(conn)
        self._slots.release()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


_pools: dict[str, Pool] = {}
_pool_lock = threading.Lock()


def _make_pool(owner: bool) -> Pool:
    cfg = settings()
    user = cfg.db_migration_user if owner else cfg.db_user
    if cfg.database == "cloud_sql":
        connect = cloud_sql_connector(user)
    elif cfg.database == "private_ip":
        connect = direct_connector(user)
    elif cfg.database == "url":
        connect = url_connector(cfg.migration_database_url if owner else cfg.database_url)
    else:
        raise errors.ServiceUnavailable("No database is configured (set DATABASE_URL).")
    if owner:
        return Pool(connect, 2, None)
    return Pool(connect, cfg.db_pool_size, SERVICE_ROLE)


def pool(*, owner: bool = False) -> Pool:
    """The service's pool, or (owner=True) the migration owner's, made on first use."""
    key = "owner" if owner else "service"
    found = _pools.get(key)
    if found is None:
        with _pool_lock:
            found = _pools.get(key) or _pools.setdefault(key, _make_pool(owner))
    return found


def reset_pools() -> None:
    """Close the process's pools (tests and the local server change DATABASE_URL)."""
    with _pool_lock:
        for p in _pools.values():
            p.close()
        _pools.clear()
    settings.cache_clear()


def _sqlstate(exc: DatabaseError) -> str:
    info = exc.args[0] if exc.args else None
    return info.get("C", "") if isinstance(info, dict) else ""


def _is_connection_lost(exc: BaseException) -> bool:
    if isinstance(exc, (InterfaceError, OSError)):
        return True
    return isinstance(exc, DatabaseError) and _sqlstate(exc).startswith(_CONNECTION_LOST)


def translate(exc: DatabaseError) -> errors.ApiError:
    """A driver error as the domain error a caller handles."""
    code = _sqlstate(exc)
    if code.startswith(_CONNECTION_LOST) or code == "57014":  # 57014: statement timeout
        return errors.ServiceUnavailable()
    cls = _CONSTRAINT_ERRORS.get(code)
    if cls is None:
        return errors.ApiError("The request could not be completed.")
    # The server's own words name tables and types: they stay in the log, not the answer.
    # Input is checked before it reaches the database, so this is the last line of defence.
    return cls(_CONSTRAINT_DETAIL.get(cls, cls.title))


@dataclass(frozen=True)
class _Check:
    sql: str
    params: dict[str, Any]
    failure: errors.ApiError


class Tx:
    """One transaction on one connection.

    BEGIN goes out with the first statement; `rows_and_commit` sends COMMIT in the
    same write as the statement it runs, saving a round trip, so it is for a
    transaction's final statement. A transaction that ends without it commits on
    leaving the block.
    A deferred check (a credential proven by a statement that returns a row) goes
    out in the same write as the next statement and is judged before that
    statement's rows are handed back. `after_commit` callbacks run once the
    transaction has committed and its connection is back in the pool.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._check: _Check | None = None
        self.begun = False
        self.committed = False  # or, after a failed `rows_and_commit`, rolled back: ended
        self.after_commit: list[Callable[[], None]] = []
        self._commits_held = False

    def rows(self, sql: str, **params: Any) -> list[list[Any]]:
        return self._run(sql, params, commit=False)

    def one(self, sql: str, **params: Any) -> list[Any] | None:
        rows = self.rows(sql, **params)
        return rows[0] if rows else None

    def single(self, sql: str, **params: Any) -> list[Any]:
        """The one row a statement always returns (an aggregate, a RETURNING of a row known to exist)."""
        rows = self.rows(sql, **params)
        if len(rows) != 1:
            raise RuntimeError(f"expected one row, got {len(rows)}")
        return rows[0]

    def scalar(self, sql: str, **params: Any) -> Any:
        row = self.one(sql, **params)
        return row[0] if row else None

    def record(self, sql: str, **params: Any) -> dict[str, Any] | None:
        """The first row by its columns' names, or None."""
        row = self.one(sql, **params)
        return None if row is None else dict(zip(self._conn.columns(sql), row))

    def records(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        return self.named(sql, self.rows(sql, **params))

    def named(self, sql: str, rows: list[list[Any]]) -> list[dict[str, Any]]:
        """A statement's rows by its columns' names."""
        names = self._conn.columns(sql)
        return [dict(zip(names, row)) for row in rows]

    def rows_and_commit(self, sql: str, **params: Any) -> list[list[Any]]:
        """Run the transaction's final statement and commit in the same write (unless commits
        are held: then the transaction goes on, and commits when its block ends)."""
        return self._run(sql, params, commit=not self._commits_held)

    def hold_commits(self) -> None:
        """Let several changes that each end with rows_and_commit share this transaction."""
        self._commits_held = True

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A change that may fail on its own: on an error it is undone (with what it meant to
        publish) and the transaction goes on; the error is raised."""
        callbacks = len(self.after_commit)
        self.rows("SAVEPOINT change")
        try:
            yield
        except BaseException:
            self.rows("ROLLBACK TO SAVEPOINT change")
            del self.after_commit[callbacks:]
            raise
        self.rows("RELEASE SAVEPOINT change")

    def scalar_and_commit(self, sql: str, **params: Any) -> Any:
        rows = self.rows_and_commit(sql, **params)
        return rows[0][0] if rows else None

    def set_tenant(self, tenant_id: uuid.UUID | None, *, staff: bool = False) -> None:
        self.rows(queries.SET_TENANT, tenant=str(tenant_id) if tenant_id else "", staff="on" if staff else "")

    def defer_check(self, sql: str, failure: errors.ApiError, **params: Any) -> None:
        """Send `sql` with the next statement; raise `failure` if it returns no row."""
        self._check = _Check(sql, params, failure)

    def send_deferred_check(self) -> None:
        """Send on its own a deferred check that no statement carried."""
        check, self._check = self._check, None
        if check is not None and not self.rows(check.sql, **check.params):
            raise check.failure

    def batch(self, *steps: tuple[str, dict[str, Any]], final: bool = False) -> list[list[list[Any]]]:
        """Independent statements sent in one write, each one's rows; `final`: the
        transaction's last, committed in the same write (even when commits are held)."""
        return self._send(list(steps), commit=final)

    def _run(self, sql: str, params: dict[str, Any], *, commit: bool) -> list[list[Any]]:
        return self._send([(sql, params)], commit=commit)[0]

    def _send(self, steps: list[tuple[str, dict[str, Any]]], *, commit: bool) -> list[list[list[Any]]]:
        if self.committed:
            raise RuntimeError("the transaction has already committed")
        check, self._check = self._check, None
        if check:
            steps = [(check.sql, check.params), *steps]
        begin, self.begun = not self.begun, True
        try:
            results = self._conn.run_batch(steps, begin=begin, commit=commit)
        finally:
            # With COMMIT sent, the transaction is over either way: committed, or
            # rolled back by the server after a statement failed.
            self.committed = commit
        if check is not None:
            proof = results.pop(0)
            if isinstance(proof, DatabaseError):
                raise proof
            if not proof:
                # Whatever the statements did ran without a tenant: row-level
                # security gave them nothing to read and refused any write.
                raise check.failure
        for outcome in results:
            if isinstance(outcome, DatabaseError):
                raise outcome
        return results


@contextlib.contextmanager
def transaction(*, owner: bool = False) -> Iterator[Tx]:
    """Run the block in one transaction; roll back on any exception."""
    p = pool(owner=owner)
    conn = p.acquire()
    tx = Tx(conn)
    broken = False
    try:
        try:
            yield tx
        finally:
            # A deferred credential is judged even when the block sent nothing.
            tx.send_deferred_check()
        if tx.begun and not tx.committed:
            conn.simple("COMMIT")
    except BaseException as exc:
        broken = _is_connection_lost(exc)
        if not broken and tx.begun and not tx.committed:
            try:
                conn.simple("ROLLBACK")
            except Exception:
                broken = True
        if isinstance(exc, DatabaseError) and not broken:
            raise translate(exc) from None
        if broken:
            raise errors.ServiceUnavailable() from None
        raise
    finally:
        p.release(conn, broken=broken)
    for callback in tx.after_commit:
        try:
            callback()
        except Exception as exc:
            # The change is committed; what the callback was for is retried by its own means.
            logs.log("WARNING", "after-commit callback failed", error=f"{type(exc).__name__}: {exc}")
