"""Structured logs: one JSON object per line with `severity`, as Cloud Logging reads them.

Written to standard error, which Cloud Functions collects like standard output;
standard output stays for what a command prints (`manage.py --json`).

Every line is rid of the secrets that travel in URLs and headers (`redact`): a line may
hold a request's path or a mail's body, and whoever reads the logs must not be able to
sign in, follow, opt out or submit as a tenant with what they read. Our own lines and
those of every library logging through the root logger are redacted as they are written;
gunicorn writes its own (plain text) with handlers of its own, so its loggers redact each
record before any handler sees it.
"""
from __future__ import annotations

import datetime
import json
import logging
import re
import sys
import threading
import traceback
from typing import Any

_lock = threading.Lock()
# Python's level names that are also Cloud Logging severities.
_SEVERITIES = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


TRACE = "logging.googleapis.com/trace"  # the field Cloud Logging groups a request's lines by

REDACTED = "[redacted]"
# What names a secret (kept), then the secret (redacted) up to the next delimiter of a URL,
# header or JSON string. %2F and %3D: the same in a URL within a URL's query.
_SECRET = re.compile(
    r"(?P<name>(?:/|%2F)signin(?:/|%2F)"  # a console sign-in link: /console/signin/TOKEN
    r"|(?:token|tenant_key)(?:=|%3D)"  # status and opt-out links' ?token=, ?tenant_key=
    r"|\bx-tenant-key[\"']?\s*[:=]\s*[\"']?|\bbearer\s+"  # headers, as a library may print them
    r"|pf[ki]_)"  # API and intake keys, wherever they appear
    r"[^\s/?&#<>\"'\\,;]+",
    re.IGNORECASE)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def log(severity: str, message: str, **fields: Any) -> None:
    _write({"severity": severity, "message": message, "time": _now(), **fields})


def redact(text: str) -> str:
    """The text with every secret a URL or header carries replaced by REDACTED."""
    return _SECRET.sub(lambda found: found["name"] + REDACTED, text)


def _write(doc: dict[str, Any]) -> None:
    line = redact(json.dumps(doc, default=str))
    with _lock:
        sys.stderr.write(line + "\n")  # whatever standard error is now
        sys.stderr.flush()


class JsonHandler(logging.Handler):
    """Routes library logging (pg8000, werkzeug, Flask, ...) into the same JSON lines."""

    def emit(self, record: logging.LogRecord) -> None:
        doc = {
            "severity": record.levelname if record.levelname in _SEVERITIES else "DEFAULT",
            "message": record.getMessage(),
            "time": _now(),
            "logger": record.name,
        }
        if record.exc_info:
            doc["exception"] = "".join(traceback.format_exception(*record.exc_info))
        _write(doc)


class Redacting(logging.Filter):
    """A logger's records redacted, message and stack trace, before its handlers format them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:  # a formatter takes exc_text as it stands
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info))).rstrip("\n")
        return True


# The loggers gunicorn gives handlers of its own (it stops them propagating to the root).
GUNICORN_LOGGERS = ("gunicorn.error", "gunicorn.access")


def configure() -> None:
    """Every logger of the process (pg8000's, werkzeug's, ...) writes these JSON lines, and
    gunicorn's, which write plain text, are redacted too: each function calls this as it
    starts, and so does `manage.py serve`; the first call does it."""
    root = logging.getLogger()
    if any(isinstance(h, JsonHandler) for h in root.handlers):
        return
    root.handlers[:] = [JsonHandler()]
    root.setLevel(logging.INFO)
    for name in GUNICORN_LOGGERS:
        logging.getLogger(name).addFilter(Redacting())
