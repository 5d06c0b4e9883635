"""Secrets from Secret Manager, kept in the process for a while.

A secret is named by a version (`projects/P/secrets/S/versions/latest`). A read
value is trusted for SECRET_TTL_SECONDS, so a rotated secret is picked up without
a redeploy; `forget` drops it at once (when the value was just refused, say).
The client library is imported on first use: only functions that read secrets
pay for it. Values never appear in an exception or a log line.
"""
from __future__ import annotations

import functools
import threading
import time
from typing import Any

from shared.config import settings

_lock = threading.Lock()
_cache: dict[str, tuple[float, str]] = {}


class SecretUnavailable(Exception):
    """The secret could not be read (missing, no access, or the service failed)."""


def value(direct: str, name: str) -> str:
    """A setting given directly (locally) or by the name of its secret (deployed)."""
    return direct or (read(name) if name else "")


def read(name: str) -> str:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(name)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = _access(name)
    with _lock:
        _cache[name] = (now + settings().secret_ttl_seconds, found)
    return found


def forget(name: str) -> None:
    with _lock:
        _cache.pop(name, None)


def reset() -> None:
    """Forget every value and the client (tests change the endpoint)."""
    with _lock:
        _cache.clear()
    _client.cache_clear()


def _access(name: str) -> str:
    from google.api_core import exceptions

    try:
        response = _client().access_secret_version(name=name, timeout=10)
    except (exceptions.GoogleAPIError, OSError) as exc:  # OSError: the connection failed
        status = getattr(exc, "code", None) or type(exc).__name__
        raise SecretUnavailable(f"Secret {name} could not be read ({status}).") from None
    return response.payload.data.decode()


@functools.cache
def _client() -> Any:
    from google.cloud import secretmanager

    from shared.google_clients import rest_client

    return rest_client(secretmanager.SecretManagerServiceClient, settings().secret_manager_endpoint)
