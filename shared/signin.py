"""Signing in to the console: a one-time link mailed to a team member's address, and
the server-side session it opens.

A link is good for LINK_MINUTES and once; a session for SESSION_HOURS or until
sign-out. Only hashes of their secrets are stored.

Asking for a link does the same work whatever the address: the request is counted
against its source (SIGNIN_LIMIT_PER_IP a window) and queued as an outbox row that
names only the address. The mail function then looks the address up and, for a team
member, makes the link and queues its mail, at most LINKS_PER_WINDOW a window. A link
lives as long as a window, so a person whose address someone else keeps asking for
always has a working link in their mailbox: nobody can lock them out.
"""
from __future__ import annotations

import math
import secrets
import uuid
from typing import Any

from shared import auth, db, errors, outbox, queries
from shared.console_paths import BASE as CONSOLE_BASE
from shared.config import settings
from shared.db import Tx

LINK_MINUTES = 15
SESSION_HOURS = 12
LINK_WINDOW_SECONDS = LINK_MINUTES * 60
LINKS_PER_WINDOW = 5  # mailed per address


def link_url(token: str) -> str:
    return f"{settings().public_base_url}{CONSOLE_BASE}/signin/{token}"


def _new_link(tx: Tx, person_id: uuid.UUID, tenant_id: uuid.UUID) -> str:
    token = secrets.token_urlsafe(32)
    tx.rows(queries.INSERT_SIGNIN_LINK, hash=auth.key_hash(token), tenant=tenant_id, person=person_id,
            minutes=LINK_MINUTES)
    return token


def _person(tx: Tx, email: str) -> dict[str, Any] | None:
    """The person with this address, the transaction's tenant set to theirs."""
    return tx.record(queries.PERSON_BY_EMAIL, email=email.strip().lower())


def request_link(email: str, source: str) -> None:
    """Queue a request for a link to the address (RateLimited once its source asked too often)."""
    address = email.strip().lower()
    with db.transaction() as tx:
        [[hits, since_start]] = tx.rows(queries.SIGNIN_THROTTLE_HIT, bucket=f"ip:{source}"[:100],
                                        seconds=LINK_WINDOW_SECONDS)
        allowed = hits <= settings().signin_limit_per_ip
        if allowed:
            outbox.enqueue(tx, queries.ENQUEUE_SIGNIN_REQUEST, email=address)
    if not allowed:
        raise errors.RateLimited("Too many sign-in links asked for from here; wait a few minutes.",
                                 math.ceil(LINK_WINDOW_SECONDS + since_start))


def answer_request(tx: Tx, email: str) -> bool:
    """The mail function's half of a request: whether a link was made and its mail queued
    (not for an unknown address, nor past LINKS_PER_WINDOW: the links mailed in this
    window stay good past its end)."""
    person = _person(tx, email)
    if person is None:
        return False
    [[_, mailed, _]] = tx.rows(queries.RATE_HIT, tenant=person["tenant_id"], buckets=[f"signin:{email}"],
                               windows=[LINK_WINDOW_SECONDS])
    if mailed > LINKS_PER_WINDOW:
        return False
    token = _new_link(tx, person["person_id"], person["tenant_id"])
    outbox.enqueue(tx, queries.ENQUEUE_SIGNIN_MAIL, tenant=person["tenant_id"], person=person["person_id"],
                   link=link_url(token), minutes=LINK_MINUTES)
    return True


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
    """A new session for the person with this address (whom Identity-Aware Proxy vouched for),
    in place of any they had: one session per person, however many requests come without one."""
    with db.transaction() as tx:
        person = _person(tx, email)
        if person is None:
            raise errors.Forbidden(f"{email} is not a member of the team: an operator adds people with `people add`.")
        tx.rows(queries.END_PERSON_SESSIONS, person=person["person_id"])
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
