"""Baseline: one bare INSERT per request on a thread-local pg8000 connection."""
import os
import threading
import urllib.parse
import uuid

import functions_framework
import pg8000.native

_local = threading.local()
_url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
_socket_dir = urllib.parse.parse_qs(_url.query)["host"][0]
TENANT = uuid.UUID(os.environ["BENCH_TENANT_ID"])


def _connection():
    if not hasattr(_local, "conn"):
        _local.conn = pg8000.native.Connection(
            user="postgres", database=_url.path.lstrip("/"), unix_sock=f"{_socket_dir}/.s.PGSQL.{_url.port}")
    return _local.conn


@functions_framework.http
def raw_insert(request):
    _connection().run(
        "INSERT INTO feedback (tenant_id, type, summary, submitter_email, sla_due_at)"
        " VALUES (:t, 'bug', 'raw', 'r@example.com', now())",
        t=TENANT,
    )
    return {"ok": True}, 201
