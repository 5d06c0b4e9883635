"""Baseline for mail intake: a bare aiosmtpd server that writes one row per mail.

It takes mail as the local server's listener does (aiosmtpd's Controller, the database
work in the event loop's default executor) but only inserts one row per mail on a
thread-local pg8000 connection: no parsing, no limits, no acknowledgement.

    DATABASE_URL=... BENCH_TENANT_ID=... python bench/smtp_reference.py PORT
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pg8000.native
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.db import parse_database_url  # noqa: E402

_local = threading.local()
_connect_kwargs = parse_database_url(os.environ["DATABASE_URL"])
TENANT = uuid.UUID(os.environ["BENCH_TENANT_ID"])


def _connection() -> pg8000.native.Connection:
    if not hasattr(_local, "conn"):
        _local.conn = pg8000.native.Connection(**_connect_kwargs)
    return _local.conn


def _insert(sender: str) -> str:
    _connection().run("INSERT INTO feedback (tenant_id, type, summary, submitter_email, source, sla_due_at)"
                      " VALUES (:t, 'other', 'mail', :sender, 'email', now())", t=TENANT, sender=sender)
    return "250 2.0.0 Taken"


class BareInsert:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return await asyncio.get_running_loop().run_in_executor(None, _insert, envelope.mail_from)


def main() -> None:
    controller = Controller(BareInsert(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
