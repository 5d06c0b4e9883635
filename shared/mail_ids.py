"""Our mails' Message-IDs, and finding them again in the mails that answer them.

A mail about an item is named <feedback-event-EVENT.ITEM.TAG@DOMAIN>: its outbox row,
the item, and a tag, an HMAC over both with the mail key (shared/signing.py), so that
only a mailbox our mail reached can name it: a status link shows the item's id, not
the tag. A reply (its In-Reply-To or References) and a bounce (the returned headers)
name it back. Tags made with a retired key are honoured for GRACE_DAYS.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid

from shared import queries, signing
from shared.db import Tx

KEY = "mail_link"  # the series of keys opt-out links and Message-IDs are signed with
GRACE_DAYS = 90
TAG_BYTES = 12  # 96 bits: the header stays on one line
_ANY = re.compile(r"<feedback-event-\d+(?:\.[A-Za-z0-9_-]+)*@[^>\s]+>")
_ABOUT = re.compile(r"<feedback-event-(\d+)\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{16})@[^>\s]+>")


def _tag(key: bytes, event_id: int, item_id: uuid.UUID) -> str:
    mac = hmac.new(key, b"message-id\n%d\n" % event_id + item_id.bytes, hashlib.sha256).digest()
    return signing.b64(mac[:TAG_BYTES])


def mint(tx: Tx, event_id: int, item_id: uuid.UUID | None, domain: str) -> str:
    """The Message-ID of the mail an outbox row makes (about an item, or not)."""
    if item_id is None:
        return f"<feedback-event-{event_id}@{domain}>"
    _, key = signing.current_key(tx, KEY)
    return f"<feedback-event-{event_id}.{signing.b64(item_id.bytes)}.{_tag(key, event_id, item_id)}@{domain}>"


def looks_ours(text: str) -> bool:
    """Whether the text names a Message-ID of our form, minted here or not."""
    return _ANY.search(text) is not None


def items_named(tx: Tx, text: str) -> list[uuid.UUID]:
    """The items of the Message-IDs in the text that were minted here, in their order."""
    found = _ABOUT.findall(text)
    if not found:
        return []
    keys = [bytes(k) for k, in tx.rows(queries.HONOURED_SIGNING_KEYS, prefix=KEY, grace_seconds=GRACE_DAYS * 86400)]
    items: list[uuid.UUID] = []
    for event, item, tag in found:
        item_id = uuid.UUID(bytes=base64.urlsafe_b64decode(item + "=="))
        if any(hmac.compare_digest(tag, _tag(key, int(event), item_id)) for key in keys) and item_id not in items:
            items.append(item_id)
    return items
