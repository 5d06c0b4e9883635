"""A submitter's read-only page for one item, opened by a signed link: in the answer to
a submission (the widget's thank-you screen) and in every mail to the submitter. It
shows the item's status, the public response and the dates of its status changes;
never internal notes, assignees or any address, so anyone holding the link may see it.

Links are signed with the 'status_link' key (shared/signing.py). Rotating it (`manage.py
signing-keys rotate`) ends every link made before; a retired key is honoured only for
SECRET_TTL_SECONDS, the time a process may go on signing with it. A tenant may let its
links expire (`manage.py tenants configure ID --status-link-days N`); by default they do not.
"""
from __future__ import annotations

import datetime
import json
import urllib.parse
import uuid

from itsdangerous import TimestampSigner

from shared import errors, pages, queries, signing
from shared.config import settings
from shared.db import Tx

PURPOSE = "status_link"
PATH = "/feedback/follow/"
REFUSED = "This link is not valid, or has been replaced: the newest mail about your feedback has a working one."
EXPIRED = 410  # the answer to a link older than its tenant allows: a page that says so


def signer(tx: Tx) -> TimestampSigner:
    """What links are signed with (read before a change commits: links are made after)."""
    return signing.signer(tx, PURPOSE)


def link(signer: TimestampSigner, tenant_id: uuid.UUID, item_id: uuid.UUID) -> str:
    """The page's address: absolute when PUBLIC_BASE_URL is set, else from the host's root."""
    token = signing.sign(signer, tenant_id.bytes + item_id.bytes)
    return f"{settings().public_base_url}{settings().api_base_path}{PATH}?token={urllib.parse.quote(token)}"


def with_link(signer: TimestampSigner, tenant_id: uuid.UUID, item_id: uuid.UUID, item_json: str) -> str:
    """A new item's JSON object (text) with its status page's address (`status_url`)
    added as its last member: on every submission's path, so not parsed and written again."""
    return f"{item_json[:-1]}, \"status_url\" : {json.dumps(link(signer, tenant_id, item_id))}}}"


def page(tx: Tx, token: str) -> tuple[int, str]:
    """The HTTP status and page a link opens."""
    tenant_id, item_id, signed_at = _read(tx, token)
    tx.set_tenant(tenant_id)
    days = tx.scalar(queries.STATUS_LINK_DAYS, tenant=tenant_id)
    # A link of the form mailed before links told their time counts as old where links expire.
    if days is not None and (signed_at is None
                             or signed_at < datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)):
        return EXPIRED, pages.link_expired(days)
    item = tx.record(queries.FOLLOWED_ITEM, tenant=tenant_id, id=item_id)
    if item is None:
        raise errors.NotFound("This feedback no longer exists.")
    return 200, pages.status(item, tx.records(queries.STATUS_CHANGES, tenant=tenant_id, id=item_id))


def _read(tx: Tx, token: str) -> tuple[uuid.UUID, uuid.UUID, datetime.datetime | None]:
    refused = errors.Forbidden(REFUSED)
    payload, signed_at = signing.verify(tx, token, PURPOSE, settings().secret_ttl_seconds, refused,
                                        earlier_form=True)
    if len(payload) != 32:
        raise refused
    return uuid.UUID(bytes=payload[:16]), uuid.UUID(bytes=payload[16:]), signed_at
