"""Signing in to the console: by a one-time link mailed to a team member (shared/signin.py),
or behind Identity-Aware Proxy as the person it vouches for; signing out; and the way back
to the page a visitor was sent to sign in from.
"""
from __future__ import annotations

import datetime
import functools
import urllib.parse
from collections.abc import Callable
from typing import Any

import flask

from shared import console_session as session
from shared import console_web as web
from shared import errors, iap, signin
from shared.console_paths import BASE
from shared.http import client_ip

NEXT_COOKIE = "pf_next"  # the page a visitor was sent to sign in from

pages = flask.Blueprint("signin", __name__, url_prefix=BASE)


def _by_link(view: Callable[..., Any]) -> Callable[..., Any]:
    """A page of signing in by mailed link, which is off behind Identity-Aware Proxy: there
    IAP says who is signing in, and a session ended here would open again at the next page."""
    @functools.wraps(view)
    def page(**args: Any) -> Any:
        if iap.enabled():
            raise errors.NotFound("Behind Identity-Aware Proxy, the console takes no sign-in links.")
        return view(**args)
    return page


@pages.get("/signin")
@web.for_visitors
@_by_link
def form() -> str:
    """Ask for a sign-in link"""
    return flask.render_template("signin.html")


@pages.post("/signin")
@web.for_visitors
@_by_link
def mail_link() -> Any:
    """Mail a sign-in link"""
    email = flask.request.form.get("email", "").strip()
    if "@" not in email:
        return flask.render_template("signin.html", error="Enter the address you were added with.", email=email), 422
    try:
        signin.request_link(email, client_ip(flask.request))
    except errors.RateLimited as exc:
        return flask.render_template("signin.html", error=exc.detail, email=email), 429
    return flask.render_template("signin_sent.html", email=email, minutes=signin.LINK_MINUTES)


@pages.get("/signin/<token>")
@web.for_visitors
@_by_link
def confirm(token: str) -> str:
    """A sign-in link's page"""
    # A link's GET only shows a button: mail scanners open links, and must not use them.
    return flask.render_template("signin_confirm.html", token=token)


@pages.post("/signin/<token>")
@web.for_visitors
@_by_link
def use_link(token: str) -> Any:
    """Use a sign-in link"""
    if not _same_origin(flask.request):  # another site must not sign a browser in as someone (login CSRF)
        return web.error_page(403, "This sign-in came from another site: open the link from your mail again.")
    try:
        sid = signin.start_session(token)
    except errors.Unauthorized as exc:
        return flask.render_template("signin.html", error=exc.detail), 400
    session.current().start(sid)
    # To the page that sent the visitor to sign in, else the inbox.
    asked = flask.request.cookies.get(NEXT_COOKIE, "")
    response = web.redirect(asked if web.is_console_path(asked) else flask.url_for("inbox.page"), "Signed in.")
    response.delete_cookie(NEXT_COOKIE, path=session.COOKIE_PATH)
    return response


def _same_origin(request: flask.Request) -> bool:
    """Whether a form was posted from the console's own pages, as the browser tells:
    Sec-Fetch-Site, or else Origin (a client that sends neither is no browser to trick)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or urllib.parse.urlsplit(origin).netloc == request.host


@pages.post("/signout")
@_by_link
def signout() -> Any:
    """Sign out"""
    with session.as_person() as (tx, _):
        signin.end_session(tx, session.current().sid or "")
    session.current().end()
    return web.redirect(flask.url_for("signin.form"))


@pages.app_errorhandler(session.SignInNeeded)
@pages.app_errorhandler(errors.Unauthorized)
def sign_in_first(exc: Exception) -> Any:
    """No session, or one that has ended: to sign in, then back to the page asked for (a GET's)."""
    response = web.redirect(flask.url_for("signin.form"))
    asked = flask.request.full_path.removesuffix("?")
    if flask.request.method == "GET" and web.is_console_path(asked):
        session.set_cookie(response, NEXT_COOKIE, asked, datetime.timedelta(hours=1))
    return response


@pages.app_errorhandler(session.IapSessionNeeded)
def iap_session(needed: session.IapSessionNeeded) -> Any:
    """Behind IAP, the person it vouches for gets a session at once (a form posted without
    one is sent again after a reload, for its CSRF token)."""
    try:
        sid = signin.session_for(needed.email)
    except errors.Forbidden as exc:
        return web.error_page(403, exc.detail)
    if flask.request.method != "GET":
        return web.error_page(403, "Reload the page and send the form again.")
    session.current().start(sid)
    return web.redirect(flask.request.full_path)
