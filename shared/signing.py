"""Links signed with itsdangerous under the keys of the signing_keys table, one series of
keys per purpose: mail opt-out links ('mail_link') and submitters' status pages
('status_link'). The purpose is the signature's salt too, so that no link passes for another.

New links are signed with the purpose's newest key, re-read every SECRET_TTL_SECONDS (a
rotation elsewhere reaches this process that late). A link is verified under every key
still honoured, the newest first: current, or retired within the purpose's grace period
(`manage.py signing-keys rotate`). A link carries when it was signed, for pages that let
links expire.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
import threading
import time

from itsdangerous import BadData, TimestampSigner

from shared import errors, queries
from shared.config import settings
from shared.db import Tx

_lock = threading.Lock()
_current: dict[str, tuple[str, bytes, float]] = {}  # purpose -> key id, key, when read


def current_key(tx: Tx, purpose: str) -> tuple[str, bytes]:
    """The id and key new links (and Message-ID tags: shared/mail_ids.py) of the purpose are signed with."""
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


def _signer(keys: list[bytes], purpose: str) -> TimestampSigner:
    """Signs with the last key; verifies with any of them."""
    return TimestampSigner(keys, salt=purpose, digest_method=hashlib.sha256)


def signer(tx: Tx, purpose: str) -> TimestampSigner:
    """What new links of the purpose are signed with (read inside a transaction, used after it)."""
    return _signer([current_key(tx, purpose)[1]], purpose)


def sign(signer: TimestampSigner, payload: bytes) -> str:
    """A URL-safe token carrying `payload`: PAYLOAD.TIMESTAMP.SIGNATURE."""
    return signer.sign(b64(payload)).decode()


def verify(tx: Tx, token: str, purpose: str, grace_seconds: int, refused: errors.ApiError, *,
           earlier_form: bool = False) -> tuple[bytes, datetime.datetime | None]:
    """The payload of a token signed here for the purpose with a key still honoured, and when
    it was signed; `refused` is raised for any other. With `earlier_form`, a token of the form
    used before itsdangerous (which tells no time) is honoured too, under the same keys."""
    if earlier_form and (earlier := _EARLIER.fullmatch(token)):
        return _verify_earlier(tx, earlier, purpose, grace_seconds, refused), None
    keys = [bytes(k) for k, in tx.rows(queries.HONOURED_SIGNING_KEYS, prefix=purpose, grace_seconds=grace_seconds)]
    if not keys:
        raise refused
    try:
        body, signed_at = _signer(keys, purpose).unsign(token, return_timestamp=True)
        return _unb64(body.decode()), signed_at
    except (BadData, ValueError):
        raise refused from None


# Links mailed before itsdangerous signed them: BODY.HMAC-SHA256[.KEY_ID], the key named, or
# the purpose's first key when none is. They are honoured while their key is, so they end
# for good once the keys of their time are retired past their grace period. No token of
# itsdangerous fits: its second part is the time, six characters, not a 43-character HMAC.
_EARLIER = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})(?:\.([a-z_]+(?:-[0-9a-f]{1,30})?))?")


def _verify_earlier(tx: Tx, token: re.Match[str], purpose: str, grace_seconds: int,
                    refused: errors.ApiError) -> bytes:
    body, signature, key_id = token.group(1), token.group(2), token.group(3) or purpose
    if key_id != purpose and not key_id.startswith(purpose + "-"):
        raise refused
    key = tx.scalar(queries.HONOURED_SIGNING_KEY, name=key_id, grace_seconds=grace_seconds)
    if key is None or not hmac.compare_digest(signature, b64(hmac.digest(bytes(key), body.encode(), "sha256"))):
        raise refused
    try:
        return _unb64(body)
    except ValueError:
        raise refused from None
