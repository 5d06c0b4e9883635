"""Structured logs: one JSON object per line with `severity`, as Cloud Logging reads them.

Written to standard error, which Cloud Functions collects like standard output;
standard output stays for what a command prints (`manage.py --json`).

Callers pass fields explicitly; nothing here reads headers or bodies, so a token
or key can reach a log line only if a caller passes one, and none does.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any

_lock = threading.Lock()
# Python's level names that are also Cloud Logging severities.
_SEVERITIES = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


def log(severity: str, message: str, **fields: Any) -> None:
    line = json.dumps({"severity": severity, "message": message, **fields}, default=str)
    with _lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


class JsonFormatter(logging.Formatter):
    """Routes library logging (gunicorn, pg8000, ...) into the same JSON lines."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "severity": record.levelname if record.levelname in _SEVERITIES else "DEFAULT",
            "message": record.getMessage(),
            "logger": record.name,
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def configure() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
