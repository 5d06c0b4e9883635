"""Structured logs: one JSON object per line with `severity`, as Cloud Logging reads them.

Written to standard error, which Cloud Functions collects like standard output;
standard output stays for what a command prints (`manage.py --json`).

Callers pass fields explicitly; nothing here reads headers or bodies, so a token
or key can reach a log line only if a caller passes one, and none does.
"""
from __future__ import annotations

import datetime
import json
import logging
import sys
import threading
import traceback
from typing import Any

_lock = threading.Lock()
# Python's level names that are also Cloud Logging severities.
_SEVERITIES = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


TRACE = "logging.googleapis.com/trace"  # the field Cloud Logging groups a request's lines by


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def log(severity: str, message: str, **fields: Any) -> None:
    _write({"severity": severity, "message": message, "time": _now(), **fields})


def _write(doc: dict[str, Any]) -> None:
    line = json.dumps(doc, default=str)
    with _lock:
        sys.stderr.write(line + "\n")  # whatever standard error is now
        sys.stderr.flush()


class JsonHandler(logging.Handler):
    """Routes library logging (gunicorn, pg8000, ...) into the same JSON lines."""

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


def configure() -> None:
    """Every logger of the process (gunicorn's, pg8000's, ...) writes these JSON lines: each
    function calls this as it starts, and so does `manage.py serve`; the first call does it."""
    root = logging.getLogger()
    if any(isinstance(h, JsonHandler) for h in root.handlers):
        return
    root.handlers[:] = [JsonHandler()]
    root.setLevel(logging.INFO)
