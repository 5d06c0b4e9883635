"""The console's web layer: a Flask app made of the page modules' Blueprints, its
templates and content-hashed static files, security headers, error pages, and the
dispatch into it of the request functions-framework hands the console function.

Every page is HTML from a template (Jinja2, autoescaped); every action is a plain form
post that redirects back with a message (flask.flash, kept with the session: see
shared/console_session.py, which also checks each form's CSRF token). Static files are
served with their content's hash in their names and cached for a year. The
Content-Security-Policy admits no inline script or style and no framing.
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import flask
import jinja2
import pydantic
from werkzeug import exceptions as wz

from shared import errors, iap, logs
from shared import console_session as session
from shared.choices import FEEDBACK_TYPES, PRIORITIES, SLA_STATUSES, SOURCES
from shared.console_paths import BASE, GUIDE_ADDRESS

STATIC = Path(__file__).resolve().parent / "console_static"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
VIEWS = [  # the left bar: name and the inbox's filters
    ("Inbox", {"sort": "sla"}),
    ("Mine", {"assignee": "me", "sort": "sla"}),
    ("Unassigned", {"assignee": "none", "sort": "sla"}),
    ("Breached", {"sla_status": "breached", "sort": "sla"}),
    ("Newest", {"sort": "newest"}),
    ("Most votes", {"sort": "votes"}),
]
# What the pages list for each enumerated field, the most pressing priority first.
CHOICES = {"types": FEEDBACK_TYPES, "priorities": PRIORITIES[::-1], "sources": SOURCES, "sla_statuses": SLA_STATUSES}

M = TypeVar("M", bound=pydantic.BaseModel)
V = TypeVar("V", bound=Callable[..., Any])


def for_visitors(view: V) -> V:
    """A page for visitors without a session (signing in): its forms carry no CSRF token."""
    view.for_visitors = True  # type: ignore[attr-defined]
    return view


# --- helpers of the pages


def one_of(values: Iterable[str], name: str) -> str:
    """A path segment that is one of `values`, given to the view as `name`."""
    return "<any(" + ",".join(f'"{value}"' for value in values) + f"):{name}>"


def redirect(location: str, message: str | None = None) -> Any:
    """See other: `location`, where `message` is shown once."""
    if message:
        flask.flash(message)
    return flask.redirect(location, 303)


def after_change(back: str, change: Callable[[], str], *, refused: str = "") -> Any:
    """Make a form's change and go back to `back`, saying what was done or why it was
    refused (an ended session, or an item not the person's to see, is a page of its own)."""
    try:
        message = change()
    except (errors.ApiError, pydantic.ValidationError) as exc:
        if isinstance(exc, errors.ApiError) and exc.status in (401, 404):
            raise
        message = refused + problem_text(exc)
    return redirect(back, message)


def problem_text(exc: Exception) -> str:
    """What went wrong, as a person reads it."""
    if isinstance(exc, pydantic.ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, errors.ApiError):
        extra = [f"{e['field']}: {e['message']}" for e in exc.errors or []]
        return " ".join([exc.detail, *extra])
    return str(exc)


def form_model(model: type[M], fields: dict[str, Any]) -> M:
    """A form's fields validated as the API validates the same JSON body (strict models
    take ids and dates as JSON writes them)."""
    return model.model_validate_json(json.dumps(fields))


# A path within the console, query included, as a URL writes it: no scheme or host, and
# none of the characters a header or a path trick needs (those url_for leaves unescaped
# in a query are among the rest).
_CONSOLE_PATH = re.compile(re.escape(BASE) + r"/[A-Za-z0-9/._~%+=&?,:!$'()*;@-]*")


def is_console_path(value: str) -> bool:
    """Whether a browser may be sent to `value`: a page of the console, on this origin."""
    return len(value) <= 2000 and bool(_CONSOLE_PATH.fullmatch(value)) and "//" not in value and "/.." not in value


def label(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _when(timestamp: str | None) -> str:
    return (timestamp or "")[:16].replace("T", " ")


def _age(timestamp: str, at: datetime.datetime) -> str:
    """'3 h', '2 d': how long before `at`, as a list row shows it."""
    seconds = (at - datetime.datetime.fromisoformat(timestamp)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return "now"


# --- static files, and the addresses that lead to the inbox

pages = flask.Blueprint("web", __name__)


@functools.cache
def _static_files() -> dict[str, tuple[Path, str]]:
    """Each static file by its hashed name (name.HASH.ext): the file and its media type."""
    found = {}
    for path in STATIC.iterdir():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        media = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}[path.suffix]
        found[f"{path.stem}.{digest}{path.suffix}"] = (path, media)
    return found


def _static_url(name: str) -> str:
    hashed = next(h for h, (path, _) in _static_files().items() if path.name == name)
    return flask.url_for("web.static", name=hashed)


@pages.get(BASE + "/static/<name>")
@for_visitors
def static(name: str) -> flask.Response:
    """Static files, named by their content"""
    found = _static_files().get(name)
    if found is None:
        raise wz.NotFound()
    path, media = found
    response = flask.Response(path.read_bytes(), mimetype=media)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@pages.get(BASE)
@pages.get(GUIDE_ADDRESS + "/")
@for_visitors
def to_inbox() -> Any:
    """The console's address, and the guide's of the admin interface: the inbox's"""
    return flask.redirect(flask.url_for("inbox.page"), 301)


# --- error pages


def error_page(status: int, message: str) -> tuple[str, int]:
    return flask.render_template("error.html", message=message), status


def _not_found(exc: Exception) -> tuple[str, int]:
    return error_page(404, "Nothing here, or not yours to see.")


def _not_allowed(exc: Exception) -> tuple[str, int]:
    return error_page(405, "That address takes no such request.")


def _unavailable(exc: Exception) -> tuple[str, int]:
    return error_page(503, "The database is not answering; try again.")


def _refused(exc: errors.ApiError | pydantic.ValidationError) -> tuple[str, int]:
    """Input no form of ours sends, most often."""
    return error_page(exc.status if isinstance(exc, errors.ApiError) else 422, problem_text(exc))


def _http_error(exc: wz.HTTPException) -> tuple[str, int]:
    """A body too large, or not a form."""
    return error_page(exc.code or 400, exc.description or exc.name)


def _failed(exc: Exception) -> tuple[str, int]:
    return error_page(500, "Something went wrong on our side; try again.")


ERROR_PAGES: dict[type[Exception] | int, Callable[[Any], Any]] = {
    wz.NotFound: _not_found, errors.NotFound: _not_found, wz.MethodNotAllowed: _not_allowed,
    errors.ServiceUnavailable: _unavailable, errors.ApiError: _refused, pydantic.ValidationError: _refused,
    wz.HTTPException: _http_error, 500: _failed,
}


# --- the app


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with werkzeug converters
    summary: str


class Console:
    """The console's pages as one function group (entry point `console`): a Flask app of
    the pages' Blueprints, handed each request functions-framework receives."""

    name = "console"
    path_prefix = ""  # its pages' paths are whole (the API's groups' sit under API_BASE_PATH)

    def __init__(self, blueprints: Iterable[flask.Blueprint]) -> None:
        self.app = _app([pages, *blueprints])
        # Each path once: to the front door, the console's bare address is its inbox's.
        self.routes = [Route(method, rule.rule, (self.app.view_functions[rule.endpoint].__doc__ or "").split("\n")[0])
                       for rule in self.app.url_map.iter_rules() if rule.rule != BASE
                       for method in sorted(rule.methods or ()) if method not in ("HEAD", "OPTIONS")]

    def handles(self, path: str) -> bool:
        return path.startswith(BASE + "/") or path == BASE or path.rstrip("/") == GUIDE_ADDRESS

    def __call__(self, request: flask.Request) -> flask.Response:
        """The request in the app's own context, as its WSGI entry would run it, but on the
        same request object (its body is read once, whichever app reads it)."""
        with flask.ctx.RequestContext(self.app, request.environ, request=request):
            try:
                return self.app.full_dispatch_request()
            except Exception as exc:  # the app's own 500 page, as its WSGI entry gives it
                return self.app.handle_exception(exc)


def _app(blueprints: list[flask.Blueprint]) -> flask.Flask:
    app = flask.Flask(__name__, static_folder=None, template_folder="console_templates")
    app.config.update(PROVIDE_AUTOMATIC_OPTIONS=False)  # OPTIONS is no console request
    app.url_map.strict_slashes = False  # /console/dashboard/ and /console/items/<id> are the same pages
    app.session_interface = session.ConsoleSessions()
    app.jinja_options = {**app.jinja_options, "undefined": jinja2.StrictUndefined, "trim_blocks": True,
                         "lstrip_blocks": True}
    app.jinja_env.globals.update(static=_static_url, behind_iap=iap.enabled, views=VIEWS, csrf_token=_csrf_token,
                            choices=CHOICES)
    app.jinja_env.filters.update(label=label, when=_when, age=_age)
    app.context_processor(lambda: {"person": None})  # a page without a signed-in person
    app.before_request(_check_forms)
    app.after_request(_finish)
    for error, handler in ERROR_PAGES.items():
        app.register_error_handler(error, handler)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    return app


def _csrf_token() -> str:
    sid = session.current().sid
    return session.csrf_token(sid) if sid else ""


def _check_forms() -> None:
    view = flask.current_app.view_functions.get(flask.request.endpoint or "")
    if flask.request.method == "POST" and view is not None and not getattr(view, "for_visitors", False):
        session.check_form()


def _finish(response: flask.Response) -> flask.Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    request = flask.request
    logs.log("INFO", "page", method=request.method, path=request.path, status=response.status_code)
    return response
