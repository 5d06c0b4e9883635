"""Signing in to the console: a one-time link mailed to a team member's address, and
the server-side session it opens.

A link is good for LINK_MINUTES and once; a session for SESSION_HOURS or until
sign-out. Only hashes of their secrets are stored. Asking for a link answers the
same whether or not the address belongs to anyone, and is rate-limited per address.
"""
from __future__ import annotations

import secrets
import uuid
from typing import Any

from shared import auth, db, errors, logs, outbox, queries
from shared.config import settings
from shared.db import Tx

LINK_MINUTES = 15
SESSION_HOURS = 12
LINKS_PER_WINDOW = 5  # per address
LINK_WINDOW_SECONDS = 15 * 60
CONSOLE_PATH = "/console/"


def link_url(token: str) -> str:
    return f"{settings().public_base_url}{CONSOLE_PATH}signin/{token}"


def _new_link(tx: Tx, person_id: uuid.UUID, tenant_id: uuid.UUID) -> str:
    token = secrets.token_urlsafe(32)
    tx.rows(queries.INSERT_SIGNIN_LINK, hash=auth.key_hash(token), tenant=tenant_id, person=person_id,
            minutes=LINK_MINUTES)
    return token


def _person(tx: Tx, email: str) -> dict[str, Any] | None:
    """The person with this address, the transaction's tenant set to theirs."""
    return tx.record(queries.PERSON_BY_EMAIL, email=email.strip().lower())


def request_link(email: str) -> None:
    """Mail a sign-in link to the address if it is a team member's (through the outbox)."""
    with db.transaction() as tx:
        person = _person(tx, email)
        if person is None:
            logs.log("INFO", "sign-in link asked for an unknown address")
            return
        rows = tx.rows(queries.RATE_HIT, tenant=person["tenant_id"], buckets=[f"signin:{email.strip().lower()}"],
                       windows=[LINK_WINDOW_SECONDS])
        if rows[0][1] > LINKS_PER_WINDOW:
            raise errors.RateLimited("Too many sign-in links asked for; wait a few minutes.",
                                     int(LINK_WINDOW_SECONDS + rows[0][2]))
        token = _new_link(tx, person["person_id"], person["tenant_id"])
        outbox.enqueue(tx, queries.ENQUEUE_SIGNIN_MAIL, tenant=person["tenant_id"], person=person["person_id"],
                       link=link_url(token), minutes=LINK_MINUTES)


def operator_link(email: str) -> str:
    """A sign-in link for an operator to hand over (manage.py signin-link)."""
    with db.transaction() as tx:
        person = _person(tx, email)
        if person is None:
            raise errors.NotFound(f"No team member has the address {email}: add them with `people add`.")
        return link_url(_new_link(tx, person["person_id"], person["tenant_id"]))


def start_session(token: str) -> str:
    """Use a link once: a new session's id (the cookie's value)."""
    with db.transaction() as tx:
        used = tx.record(queries.USE_SIGNIN_LINK, hash=auth.key_hash(token))
        if used is None:
            raise errors.Unauthorized("This sign-in link is used or expired: ask for a new one.")
        return _open_session(tx, used["person_id"], used["tenant_id"])


def session_for(email: str) -> str:
    """A new session for the person with this address (whom Identity-Aware Proxy vouched for)."""
    with db.transaction() as tx:
        person = _person(tx, email)
        if person is None:
            raise errors.Forbidden(f"{email} is not a member of the team: an operator adds people with `people add`.")
        return _open_session(tx, person["person_id"], person["tenant_id"])


def _open_session(tx: Tx, person_id: uuid.UUID, tenant_id: uuid.UUID) -> str:
    session_id = secrets.token_urlsafe(32)
    tx.rows(queries.INSERT_SESSION, hash=auth.key_hash(session_id), tenant=tenant_id, person=person_id,
            hours=SESSION_HOURS)
    return session_id


# Whom a session belongs to never changes; whether it is still live is proven on every
# request by the lookup, sent with the request's first statement (as for API keys).
_known_sessions: dict[bytes, auth.Principal] = {}
ENDED = "The session has ended: sign in again."


def session_principal(tx: Tx, session_id: str) -> auth.Principal | None:
    """The person a live session belongs to, the transaction set to act as them (a session
    seen before is checked with the next statement, which fails with Unauthorized if it ended)."""
    hashed = auth.key_hash(session_id)
    known = _known_sessions.get(hashed)
    if known is not None:
        tx.defer_check(queries.AUTH_SESSION, errors.Unauthorized(ENDED), hash=hashed)
        return known
    row = tx.record(queries.AUTH_SESSION, hash=hashed)
    if row is None:
        return None
    person = auth.Principal(row["role"], row["tenant_id"], row["person_id"], f"person:{row['person_id']}",
                            email=row["email"], label=row["name"])
    auth.remember(_known_sessions, hashed, person)
    return person


def end_session(tx: Tx, session_id: str) -> None:
    """End a session (in a transaction acting as its person: row-level security)."""
    tx.rows(queries.END_SESSION, hash=auth.key_hash(session_id))
