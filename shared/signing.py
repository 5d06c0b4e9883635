"""Links signed with a key of the signing_keys table, one series of keys per purpose:
mail opt-out links ('mail_link') and submitters' status pages ('status_link').

A link names the key that signed it. New links are signed with the purpose's newest
key, re-read every SECRET_TTL_SECONDS (a rotation elsewhere reaches this process that
late); a key is honoured while current and for a grace period after it is retired
(`manage.py signing-keys rotate`).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import threading
import time

from shared import errors, queries
from shared.config import settings
from shared.db import Tx

_lock = threading.Lock()
_current: dict[str, tuple[str, bytes, float]] = {}  # purpose -> key id, key, when read


def current_key(tx: Tx, purpose: str) -> tuple[str, bytes]:
    """The id and key new links of the purpose are signed with."""
    with _lock:
        found = _current.get(purpose)
    if found is None or time.monotonic() - found[2] > settings().secret_ttl_seconds:
        name, key = tx.single(queries.CURRENT_SIGNING_KEY, prefix=purpose)
        found = (name, bytes(key), time.monotonic())
        with _lock:
            _current[purpose] = found
    return found[0], found[1]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()


def sign(signer: tuple[str, bytes], payload: bytes) -> str:
    """A token carrying `payload`, signed with a current_key: BODY.SIGNATURE.KEY_ID, URL-safe."""
    key_id, key = signer
    body = b64(payload)
    return f"{body}.{b64(_mac(key, body))}.{key_id}"


def verify(tx: Tx, token: str, purpose: str, grace_seconds: int, refused: errors.ApiError) -> bytes:
    """The payload of a token signed here for the purpose with a key still honoured;
    `refused` is raised for any other."""
    body, _, rest = token.partition(".")
    signature, _, key_id = rest.partition(".")
    key_id = key_id or purpose  # tokens from before key ids name no key: the purpose's first
    if not re.fullmatch(re.escape(purpose) + r"(-[0-9a-f]{1,30})?", key_id):
        raise refused
    try:
        given, payload = _unb64(signature), _unb64(body)
    except (ValueError, binascii.Error):
        raise refused from None
    key = tx.scalar(queries.HONOURED_SIGNING_KEY, name=key_id, grace_seconds=grace_seconds)
    if key is None or not hmac.compare_digest(given, _mac(bytes(key), body)):
        raise refused
    return payload
