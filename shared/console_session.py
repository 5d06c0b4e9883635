"""The console's session: who is signed in, what waits for their next page, and the CSRF
token of their forms.

The session's id is the HttpOnly cookie pf_console (shared/signin.py opens and ends the
session it names). It is Flask's session for a console request: what Flask keeps in it
(the messages flash() leaves for the next page) is kept in the session's console_sessions
row, not in a cookie, as a bulk change's result is longer than a browser keeps a cookie
(4 KB). A marker cookie says that a message waits: only then does a page look for one.

Every form of a signed-in page carries a CSRF token: the session's secret (an HMAC of its
id) masked with fresh random bytes, as Django masks its own, so that no two responses
carry the same token beside the search text they reflect (a compression side channel,
BREACH, could otherwise read it out).
"""
from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from typing import Any, cast

import flask
from flask.sessions import SessionInterface, SessionMixin

from shared import auth, db, errors, iap, queries, signin
from shared.auth import Principal
from shared.console_paths import BASE

COOKIE = "pf_console"
MESSAGE_COOKIE = "pf_flash"  # "a message waits"
COOKIE_PATH = BASE + "/"
MESSAGE_MINUTES = 10


class SignInNeeded(Exception):
    """No live session: the page asks for a sign-in first."""


class IapSessionNeeded(Exception):
    """Behind Identity-Aware Proxy, no session yet for the person it vouches for."""

    def __init__(self, email: str) -> None:
        super().__init__(email)
        self.email = email


class ConsoleSession(SessionMixin):
    """A request's console session: its id (None: nobody is signed in) and what Flask keeps
    in it, read from the session's row only when something asks for it."""

    def __init__(self, sid: str | None, message_waiting: bool) -> None:
        self.sid = sid
        self.message_waiting = message_waiting
        self.renewed = False  # a new id, for the cookie
        self.ended = False

    def start(self, sid: str) -> None:
        """Go on as the session just opened (its cookie is set with the answer)."""
        self.sid, self.renewed = sid, True

    def end(self) -> None:
        """Drop the cookie of the session just ended."""
        self.ended = True

    @functools.cached_property
    def _values(self) -> dict[str, Any]:
        message = _take_message(self.sid) if self.sid and self.message_waiting else None
        return {"_flashes": [("message", message)]} if message else {}

    @property
    def loaded(self) -> bool:
        return "_values" in self.__dict__

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._values[key] = value

    def __delitem__(self, key: str) -> None:
        del self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class ConsoleSessions(SessionInterface):
    """The console session of each request, and its cookies on each answer."""

    def open_session(self, app: flask.Flask, request: flask.Request) -> ConsoleSession:
        # A page (a GET) takes a waiting message; a form's post leaves it for the page after.
        return ConsoleSession(request.cookies.get(COOKIE) or None,
                              request.method == "GET" and bool(request.cookies.get(MESSAGE_COOKIE)))

    def save_session(self, app: flask.Flask, session: SessionMixin, response: flask.Response) -> None:
        kept = cast(ConsoleSession, session)
        if kept.ended:
            response.delete_cookie(COOKIE, path=COOKIE_PATH)
        elif kept.renewed and kept.sid:
            set_cookie(response, COOKIE, kept.sid, datetime.timedelta(hours=signin.SESSION_HOURS))
        if not kept.loaded:
            return
        messages = [text for _, text in kept.get("_flashes", [])]
        if messages and kept.sid and _keep_message(kept.sid, " ".join(messages)):
            set_cookie(response, MESSAGE_COOKIE, "1", datetime.timedelta(minutes=MESSAGE_MINUTES))
        elif kept.message_waiting:  # shown by this page
            response.delete_cookie(MESSAGE_COOKIE, path=COOKIE_PATH)


def current() -> ConsoleSession:
    """The request's console session."""
    return cast(ConsoleSession, flask.session)


def set_cookie(response: flask.Response, name: str, value: str, lasts: datetime.timedelta) -> None:
    """A console cookie: for the console's pages only, out of scripts' reach, not sent by
    other sites' forms, and Secure except on a local address (the local server speaks
    plain HTTP)."""
    host = flask.request.host.split(":")[0]
    response.set_cookie(name, value, max_age=lasts, path=COOKIE_PATH, httponly=True, samesite="Lax",
                        secure=host not in ("localhost", "127.0.0.1"))


def _keep_message(sid: str, message: str) -> bool:
    """Keep a message with a live session, for its next page (False: no session to keep it)."""
    with db.transaction() as tx:
        if signin.session_principal(tx, sid) is None:
            return False
        # A refusal may quote the character refused, NUL too, which text cannot hold.
        tx.rows(queries.KEEP_CONSOLE_MESSAGE, hash=auth.key_hash(sid), message=message.replace("\x00", "\ufffd"))
    return True


def _take_message(sid: str) -> str | None:
    with db.transaction() as tx:
        # A live session's own (acting as its person is what lets the transaction see its row).
        if signin.session_principal(tx, sid) is None:
            return None
        return cast(str | None, tx.scalar(queries.TAKE_CONSOLE_MESSAGE, hash=auth.key_hash(sid)))


# --- CSRF


def csrf_token(sid: str) -> str:
    """A token for the session's forms: its secret masked with fresh random bytes (hex of
    the mask, then of the masked secret). Each call gives another; each is as good."""
    secret = _csrf_secret(sid)
    mask = secrets.token_bytes(len(secret))
    return (mask + _xor(mask, secret)).hex()


def csrf_valid(sid: str, token: str) -> bool:
    secret = _csrf_secret(sid)
    try:
        raw = bytes.fromhex(token)
    except ValueError:
        return False
    if len(raw) != 2 * len(secret):
        return False
    return hmac.compare_digest(_xor(raw[:len(secret)], raw[len(secret):]), secret)


def _csrf_secret(sid: str) -> bytes:
    return hmac.new(sid.encode(), b"console-csrf", hashlib.sha256).digest()


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a) ^ int.from_bytes(b)).to_bytes(len(a))


def check_form() -> None:
    """A form posted to a signed-in page comes from one of its pages: it carries a session
    and that session's token."""
    sid = current().sid
    if not sid:
        raise SignInNeeded()
    if not csrf_valid(sid, flask.request.form.get("csrf", "")):
        raise errors.Forbidden("This form is stale or not ours: reload the page and send it again.")


# --- acting as the signed-in person


@contextlib.contextmanager
def as_person(*, snapshot: bool = False) -> Iterator[tuple[db.Tx, Principal]]:
    """One transaction for the request, acting as the signed-in person: the operations'
    own commits are held, so a page's reads and a form's change each cost one transaction.
    `snapshot`: every read sees the database as it was when the first ran (a streamed
    export); nothing is written."""
    vouched = iap.verified_email(flask.request.headers) if iap.enabled() else None
    sid = current().sid
    if not sid:
        raise IapSessionNeeded(vouched) if vouched else SignInNeeded()
    with db.transaction() as tx:
        if snapshot:
            tx.rows(queries.ONE_SNAPSHOT)  # before the transaction's first read
        person = signin.session_principal(tx, sid)
        if vouched and (person is None or person.email != vouched):
            raise IapSessionNeeded(vouched)
        if person is None:
            raise SignInNeeded()
        tx.hold_commits()
        yield tx, person
