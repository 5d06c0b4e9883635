"""The console's web layer: templates and content-hashed static files, the session
cookie and CSRF tokens, one-line messages after a form post, security headers, and
the dispatch of a request to its page (shared/console.py holds the pages).

Every page is HTML from a template (Jinja2, autoescaped); every action is a plain form
post that redirects back with a one-line message. A person signs in by a one-time link
(shared/signin.py) or through Identity-Aware Proxy (shared/iap.py); the session's id is
an HttpOnly cookie, and each form carries a CSRF token derived from it. Static files
are served with their content's hash in their names and cached for a year. The
Content-Security-Policy admits no inline script or style and no framing.
"""
from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import hmac
import html
import json
import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import flask
import pydantic
from markupsafe import Markup
from werkzeug import exceptions as wz
from werkzeug.routing import Map, Rule

from shared import db, errors, iap, logs, signin
from shared.auth import Principal

BASE = "/console"
GUIDE_ADDRESS = "/admin/feedback"  # the guide's address of the admin interface leads here
COOKIE = "pf_console"
FLASH_COOKIE = "pf_flash"
HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "console_templates"
STATIC = HERE / "console_static"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


M = TypeVar("M", bound=pydantic.BaseModel)

class SignInNeeded(Exception):
    """No live session: the page asks for a sign-in first."""


class IapSessionNeeded(Exception):
    """Behind Identity-Aware Proxy, no session yet for the person it vouches for."""

    def __init__(self, email: str) -> None:
        super().__init__(email)
        self.email = email


@dataclass(frozen=True)
class Page:
    method: str
    path: str  # with werkzeug converters
    view: Callable[..., flask.Response]
    summary: str
    signed_in: bool = True  # needs a live session (and, for POST, its CSRF token)


# --- templates and static files


@functools.cache
def _templates() -> Any:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, auto_reload=False,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(static=static_url, base=BASE, label=label, options=options,
                       views=[(name, url(filters)) for name, filters in VIEWS])
    env.filters.update(when=_when)
    return env


@functools.cache
def _static_files() -> dict[str, tuple[Path, str]]:
    """Each static file by its hashed name (name.HASH.ext): the file and its media type."""
    found = {}
    for path in STATIC.iterdir():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        media = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}[path.suffix]
        found[f"{path.stem}.{digest}{path.suffix}"] = (path, media)
    return found


def static_url(name: str) -> str:
    hashed = next(h for h, (path, _) in _static_files().items() if path.name == name)
    return f"{BASE}/static/{hashed}"


def label(value: str | None) -> str:
    return (value or "").replace("_", " ")


def options(values: list[str], current: str, blank: str) -> Markup:
    """A filter's <option>s: `blank` for none, then each value, the current one selected
    (made here: a template macro per option cost more than the inbox's query)."""
    return Markup("".join(
        f'<option value="{html.escape(value)}"{" selected" if value == current else ""}>{html.escape(text)}</option>'
        for value, text in [("", blank), *((v, label(v)) for v in values)]))


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def age(timestamp: str, at: datetime.datetime) -> str:
    """'3 h', '2 d': how long before `at`, as a list row shows it."""
    seconds = (at - datetime.datetime.fromisoformat(timestamp)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return "now"


@functools.cache
def fragment(name: str) -> str:
    """A template whose {name} fields are filled by `%` with a dict (about twice as fast as
    str.format), where a template loop costs too much."""
    text = (TEMPLATES / name).read_text().replace("%", "%%")
    return re.sub(r"\{(\w+)\}", r"%(\1)s", text)


def _when(timestamp: str | None) -> str:
    return (timestamp or "")[:16].replace("T", " ")


def render(template: str, status: int = 200, **context: Any) -> flask.Response:
    html = _templates().get_template(template).render(**context)
    return flask.Response(html, status=status, mimetype="text/html")


# --- sessions, CSRF and messages


def session_of(request: flask.Request) -> str | None:
    return request.cookies.get(COOKIE)


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode(), b"console-csrf", hashlib.sha256).hexdigest()


def secure_cookies(request: flask.Request) -> bool:
    """Cookies are Secure except on a local address (the local server speaks plain HTTP)."""
    return request.host.split(":")[0] not in ("localhost", "127.0.0.1")


@contextlib.contextmanager
def as_person(request: flask.Request) -> Iterator[tuple[db.Tx, Principal]]:
    """One transaction for the request, acting as the signed-in person: the operations'
    own commits are held, so a page's reads and a form's change each cost one transaction."""
    vouched = iap.verified_email(request.headers) if iap.enabled() else None
    session_id = session_of(request)
    if not session_id:
        raise IapSessionNeeded(vouched) if vouched else SignInNeeded()
    with db.transaction() as tx:
        person = signin.session_principal(tx, session_id)
        if vouched and (person is None or person.email != vouched):
            raise IapSessionNeeded(vouched)
        if person is None:
            raise SignInNeeded()
        tx.hold_commits()
        yield tx, person


def redirect(request: flask.Request, location: str, message: str | None = None) -> flask.Response:
    response = flask.Response(status=303, headers={"Location": location})
    if message:
        response.set_cookie(FLASH_COOKIE, urllib.parse.quote(message), max_age=60, path=BASE + "/",
                            httponly=True, samesite="Lax", secure=secure_cookies(request))
    return response


def _flash(request: flask.Request) -> str | None:
    message = request.cookies.get(FLASH_COOKIE)
    return urllib.parse.unquote(message) if message else None


def show(request: flask.Request, template: str, person: Principal | None = None, status: int = 200,
         **context: Any) -> flask.Response:
    session_id = session_of(request)
    response = render(template, status=status, person=person, flash=_flash(request),
                      csrf=csrf_token(session_id) if session_id and person else "", **context)
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path=BASE + "/")
    return response


def problem_text(exc: Exception) -> str:
    """What went wrong, as a person reads it."""
    if isinstance(exc, pydantic.ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, errors.ApiError):
        extra = [f"{e['field']}: {e['message']}" for e in exc.errors or []]
        return " ".join([exc.detail, *extra])
    return str(exc)

VIEWS = [  # the left bar: name and filters
    ("Inbox", {"sort": "sla"}),
    ("Mine", {"assignee": "me", "sort": "sla"}),
    ("Unassigned", {"assignee": "none", "sort": "sla"}),
    ("Breached", {"sla_status": "breached", "sort": "sla"}),
    ("Newest", {"sort": "newest"}),
    ("Most votes", {"sort": "votes"}),
]

def url(filters: dict[str, str], **more: str) -> str:
    return BASE + "/?" + urllib.parse.urlencode({**filters, **more})


@contextlib.contextmanager
def acting(person: Principal) -> Iterator[db.Tx]:
    """A later transaction for a person already signed in (a streamed export's next pages)."""
    with db.transaction() as tx:
        tx.set_tenant(person.tenant_id, staff=person.is_staff)
        yield tx

def form_model(model: type[M], fields: dict[str, Any]) -> M:
    """A form's fields validated as the API validates the same JSON body (strict models
    take ids and dates as JSON writes them)."""
    return model.model_validate_json(json.dumps(fields))

def static(request: flask.Request, name: str) -> flask.Response:
    found = _static_files().get(name)
    if found is None:
        raise wz.NotFound()
    path, media = found
    response = flask.Response(path.read_bytes(), mimetype=media)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response

class Console:
    """The console's pages as one function group (entry point `console`)."""

    name = "console"
    path_prefix = ""  # its pages' paths are whole (the API's groups' sit under API_BASE_PATH)

    def __init__(self, pages: list[Page]) -> None:
        self.routes = pages
        self._urls = Map([Rule(p.path, endpoint=i, methods=[p.method]) for i, p in enumerate(pages)],
                         strict_slashes=False).bind("")

    def handles(self, path: str) -> bool:
        return path.startswith(BASE + "/") or path == BASE or path.rstrip("/") == GUIDE_ADDRESS

    def __call__(self, request: flask.Request) -> flask.Response:
        try:
            response = self._dispatch(request)
        except (SignInNeeded, errors.Unauthorized):  # no session, or one that has ended
            response = redirect(request, f"{BASE}/signin?next={urllib.parse.quote(request.full_path)}")
        except IapSessionNeeded as needed:
            response = self._iap_session(request, needed.email)
        except (wz.NotFound, errors.NotFound):
            response = show(request, "error.html", status=404, message="Nothing here, or not yours to see.")
        except wz.MethodNotAllowed:
            response = show(request, "error.html", status=405, message="That address takes no such request.")
        except errors.Forbidden as exc:
            response = show(request, "error.html", status=403, message=exc.detail)
        except errors.ServiceUnavailable:
            response = show(request, "error.html", status=503, message="The database is not answering; try again.")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        logs.log("INFO", "page", method=request.method, path=request.path, status=response.status_code)
        return response

    def _iap_session(self, request: flask.Request, email: str) -> flask.Response:
        """Behind IAP, the person it vouches for gets a session at once (a form posted
        without one is sent again after a reload, for its CSRF token)."""
        try:
            session_id = signin.session_for(email)
        except errors.Forbidden as exc:
            return show(request, "error.html", status=403, message=exc.detail)
        if request.method != "GET":
            return show(request, "error.html", status=403, message="Reload the page and send the form again.")
        response = redirect(request, request.full_path)
        response.set_cookie(COOKIE, session_id, max_age=signin.SESSION_HOURS * 3600, path=BASE + "/",
                            httponly=True, samesite="Lax", secure=secure_cookies(request))
        return response

    def _dispatch(self, request: flask.Request) -> flask.Response:
        if request.path == BASE:
            return flask.Response(status=301, headers={"Location": BASE + "/"})
        index, args = self._urls.match(request.path, method=request.method)
        page = self.routes[index]
        if page.signed_in and request.method == "POST":
            session_id = session_of(request)
            if not session_id:
                raise SignInNeeded()
            if not hmac.compare_digest(request.form.get("csrf", ""), csrf_token(session_id)):
                raise errors.Forbidden("This form is stale or not ours: reload the page and send it again.")
        return page.view(request, **args)
