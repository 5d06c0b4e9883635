"""Every function group on one port, as the production deployment routes them.

Each group is loaded by functions-framework exactly as Cloud Functions loads it.
An HTTP request goes to the first group with a route for its path; the event
functions take CloudEvents under /_events/<name>, where the relay pushes what
Pub/Sub would deliver, and a sweeper in the worker republishes due events.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

from shared.relay import SUBSCRIBERS

ROOT = Path(__file__).resolve().parent.parent
HTTP_GROUPS = ("feedback", "admin", "github_webhook", "console", "email_intake")
EVENT_GROUPS = tuple(SUBSCRIBERS.values())
EVENTS_PREFIX = "/_events/"


def http_groups() -> list[tuple[str, Any, Any]]:
    """Each HTTP group as functions-framework loads it: (name, its Api, its app)."""
    import functions_framework

    groups = []
    for name in HTTP_GROUPS:
        app = functions_framework.create_app(target=name, source=str(ROOT / "functions" / name / "main.py"))
        # functions-framework registers the module it just loaded as "main".
        groups.append((name, sys.modules["main"].API, app))
    return groups


def build_app() -> Any:
    import functions_framework

    groups = [(api, app) for _, api, app in http_groups()]
    events = {
        name: functions_framework.create_app(
            target=name, source=str(ROOT / "functions" / name / "main.py"), signature_type="cloudevent"
        )
        for name in EVENT_GROUPS
    }

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "/")
        if path.startswith(EVENTS_PREFIX) and path[len(EVENTS_PREFIX):] in events:
            return events[path[len(EVENTS_PREFIX):]]({**environ, "PATH_INFO": "/"}, start_response)
        app = next((a for api, a in groups if api.handles(path)), groups[0][1])
        return app(environ, start_response)

    return dispatch


def _sweep_forever() -> None:
    from shared import digest, logs, outbox, retention
    from shared.config import settings

    while True:
        time.sleep(settings().local_sweep_seconds)
        try:
            outbox.sweep()
            retention.purge()
            digest.run()
        except Exception as exc:
            logs.log("WARNING", "outbox sweep failed", error=f"{type(exc).__name__}: {exc}")


def _start_worker_services(server: Any, worker: Any) -> None:
    """In the worker, after the fork (their connections are the worker's own): the outbox
    sweeper and, when INTAKE_SMTP_PORT names a port, the SMTP listener for feedback by mail."""
    from shared.config import settings

    threading.Thread(target=_sweep_forever, name="outbox-sweep", daemon=True).start()
    port = settings().intake_smtp_port
    if port:
        _listen_for_mail(server.cfg.bind[0].rpartition(":")[0] or "127.0.0.1", port)


SMTP_LINE_LIMIT = 64 * 1024


def _listen_for_mail(host: str, port: int) -> None:
    """Mail to tenants' feedback addresses over SMTP (aiosmtpd), as Mailgun's webhook
    brings it deployed: any mail client or smtplib can send feedback locally."""
    import asyncio
    import logging

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    from shared.config import settings

    class Intake:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            raw = envelope.original_content or envelope.content
            return await asyncio.get_running_loop().run_in_executor(None, _take_mail, raw, list(envelope.rcpt_tos),
                                                                    envelope.mail_from)

    class LongLines(SMTP):
        # Real mail breaks RFC 5321's 1000: Outlook's HTML comes in lines of several KB.
        line_length_limit = SMTP_LINE_LIMIT

    class Listener(Controller):
        def factory(self) -> SMTP:
            return LongLines(self.handler, **self.SMTP_kwargs)

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO
    # Larger mails are read to the end so that the refusal can say why (mail_intake).
    controller = Listener(Intake(), hostname=host, port=port, data_size_limit=2 * settings().intake_max_mail_bytes)
    try:
        controller.start()
    except (OSError, RuntimeError) as exc:  # the API serves on without it
        from shared import logs

        logs.log("WARNING", f"feedback by mail is off: SMTP could not listen on {host}:{port}"
                            " (set INTAKE_SMTP_PORT to a free port)", error=str(exc))


def _take_mail(raw: bytes, recipients: list[str], mail_from: str) -> str:
    """The SMTP reply for one mail ("" for MAIL FROM:<>, the null sender of bounces)."""
    from shared import errors, logs, mail_intake

    try:
        taken = mail_intake.receive(raw, recipients, envelope_sender=mail_from)
    except mail_intake.Refused as exc:
        return exc.smtp_reply()
    except errors.RateLimited:
        return "451 4.7.1 Too many mails from this sender or to this tenant: try again later."
    except Exception as exc:
        logs.log("ERROR", "a mail could not be taken", error=f"{type(exc).__name__}: {exc}")
        return "451 4.3.0 The mail could not be taken now: try again later."
    return f"250 2.0.0 Taken ({taken.outcome}: {taken.detail})"


# A client that sends nothing for this long, mid-request or between requests, is
# dropped, so a few slow sockets cannot hold every thread. (Deployed, Google's front
# end buffers each request before it reaches a function.)
IDLE_SECONDS = 5


def _idle_timeout_worker() -> type:
    """gunicorn's threaded worker, with a timeout on every read from a client."""
    from gunicorn.workers.gthread import ThreadWorker

    class IdleTimeoutWorker(ThreadWorker):
        def init_process(self) -> None:
            self.log.error_log.addFilter(_quiet_idle_clients)
            super().init_process()

        def handle(self, conn: Any) -> Any:
            init = conn.init

            def init_then_time_out() -> None:
                init()  # runs after the worker makes the socket blocking (no timeout)
                conn.sock.settimeout(IDLE_SECONDS)

            conn.init = init_then_time_out
            return super().handle(conn)

    return IdleTimeoutWorker


def _quiet_idle_clients(record: Any) -> bool:
    """A client dropped for idling is routine, not an error with a stack trace."""
    return not (record.exc_info and isinstance(record.exc_info[1], TimeoutError))


def serve(host: str, port: int) -> None:
    """Serve with functions-framework's gunicorn settings (1 worker, 4 threads per core),
    dropping idle clients. Ctrl-C gives requests in flight IDLE_SECONDS to finish, not
    gunicorn's 30: a worker that lingers past that is stopped, so the server stops promptly."""
    from functions_framework._http.gunicorn import GunicornApplication

    GunicornApplication(build_app(), host, port, False, post_fork=_start_worker_services, graceful_timeout=IDLE_SECONDS,
                        worker_class=_idle_timeout_worker()).run()
