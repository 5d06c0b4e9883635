"""Opt-outs: the signed opt-out link every mail to a submitter carries (shared/signing.py),
and recording the opt-out it asks for.

Links signed with a retired key keep working for mail_ids.GRACE_DAYS, and so do the links
mailed before itsdangerous signed them: an opt-out link must work as long as the mail it
came in may still be read.
"""
from __future__ import annotations

import urllib.parse
import uuid

from shared import errors, mail_ids, queries, signing
from shared.config import settings
from shared.db import Tx

PATH = "/feedback/mail/opt-out/"


def sign(tx: Tx, tenant_id: uuid.UUID, address: str) -> str:
    """The token of the link for the address at the tenant."""
    return signing.sign(signing.signer(tx, mail_ids.KEY), f"{tenant_id}\n{address.lower()}".encode())


def link(tx: Tx, tenant_id: uuid.UUID, address: str) -> str:
    base = settings().public_base_url
    if not base:
        # Retried until configured: no mail goes out without a working opt-out link.
        raise RuntimeError("PUBLIC_BASE_URL is not set, so no opt-out link can be made")
    token = urllib.parse.quote(sign(tx, tenant_id, address))
    return f"{base}{settings().api_base_path}{PATH}?token={token}"


def read(tx: Tx, token: str) -> tuple[uuid.UUID, str]:
    """The tenant and address a token was signed for; Forbidden if it was not signed here
    with a key still honoured."""
    refused = errors.Forbidden("This opt-out link is not valid.")
    payload, _ = signing.verify(tx, token, mail_ids.KEY, mail_ids.GRACE_DAYS * 86400, refused, earlier_form=True)
    try:
        tenant, _, address = payload.decode().partition("\n")
        tenant_id = uuid.UUID(tenant)
    except ValueError:
        raise refused from None
    if not address:
        raise refused
    return tenant_id, address


def record(tx: Tx, token: str) -> str:
    """Record the opt-out a link asks for; the address it was for."""
    tenant_id, address = read(tx, token)
    tx.set_tenant(tenant_id)
    tx.rows_and_commit(queries.OPT_OUT, tenant=tenant_id, email=address)
    return address
