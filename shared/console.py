"""The team's triage console: server-rendered pages over the operations the API runs
(feedback, triage), under the same rules: workflow, SLA, audit, tenancy.

Every page is HTML from a template (Jinja2, autoescaped); every action is a plain form
post that redirects back with a one-line message. A person signs in by a one-time link
(shared/signin.py); the session's id is an HttpOnly cookie, and each form carries a
CSRF token derived from it. Static files are served with their content's hash in
their names and cached for a year. The Content-Security-Policy admits no inline
script or style and no framing.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import flask
import pydantic
from werkzeug import exceptions as wz
from werkzeug.routing import Map, Rule

from shared import db, errors, feedback, iap, items, logs, queries, signin, triage, workflow
from shared.auth import Principal
from shared.models import BulkBody, FeedbackUpdate, ListQuery, NoteBody, RespondBody, StatusBody

BASE = "/console"
GUIDE_ADDRESS = "/admin/feedback"  # the guide's address of the admin interface leads here
COOKIE = "pf_console"
FLASH_COOKIE = "pf_flash"
HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "console_templates"
STATIC = HERE / "console_static"
PAGE_SIZE = 50
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
    env.globals.update(static=static_url, base=BASE, label=_label,
                       views=[(name, _url(filters)) for name, filters in VIEWS])
    env.filters.update(age=_age, when=_when)
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


def _label(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _age(timestamp: str) -> str:
    """'3 h', '2 d': how long ago, as a list row shows it."""
    import datetime

    then = datetime.datetime.fromisoformat(timestamp)
    seconds = (datetime.datetime.now(datetime.UTC) - then).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return "now"


def _when(timestamp: str | None) -> str:
    return (timestamp or "")[:16].replace("T", " ")


def render(template: str, status: int = 200, **context: Any) -> flask.Response:
    html = _templates().get_template(template).render(**context)
    return flask.Response(html, status=status, mimetype="text/html")


# --- sessions, CSRF and messages


def _session_id(request: flask.Request) -> str | None:
    return request.cookies.get(COOKIE)


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode(), b"console-csrf", hashlib.sha256).hexdigest()


def _secure(request: flask.Request) -> bool:
    """Cookies are Secure except on a local address (the local server speaks plain HTTP)."""
    return request.host.split(":")[0] not in ("localhost", "127.0.0.1")


@contextlib.contextmanager
def as_person(request: flask.Request) -> Iterator[tuple[db.Tx, Principal]]:
    """A transaction acting as the signed-in person."""
    vouched = iap.verified_email(request.headers) if iap.enabled() else None
    session_id = _session_id(request)
    if not session_id:
        raise IapSessionNeeded(vouched) if vouched else SignInNeeded()
    with db.transaction() as tx:
        person = signin.session_principal(tx, session_id)
        if vouched and (person is None or person.email != vouched):
            raise IapSessionNeeded(vouched)
        if person is None:
            raise SignInNeeded()
        yield tx, person


def _redirect(request: flask.Request, location: str, message: str | None = None) -> flask.Response:
    response = flask.Response(status=303, headers={"Location": location})
    if message:
        response.set_cookie(FLASH_COOKIE, urllib.parse.quote(message), max_age=60, path=BASE + "/",
                            httponly=True, samesite="Lax", secure=_secure(request))
    return response


def _flash(request: flask.Request) -> str | None:
    message = request.cookies.get(FLASH_COOKIE)
    return urllib.parse.unquote(message) if message else None


def _page(request: flask.Request, template: str, person: Principal | None = None, status: int = 200,
          **context: Any) -> flask.Response:
    session_id = _session_id(request)
    response = render(template, status=status, person=person, flash=_flash(request),
                      csrf=csrf_token(session_id) if session_id and person else "", **context)
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path=BASE + "/")
    return response


def _problem_text(exc: Exception) -> str:
    """What went wrong, as a person reads it."""
    if isinstance(exc, pydantic.ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, errors.ApiError):
        extra = [f"{e['field']}: {e['message']}" for e in exc.errors or []]
        return " ".join([exc.detail, *extra])
    return str(exc)


# --- signing in


def signin_form(request: flask.Request) -> flask.Response:
    return _page(request, "signin.html")


def signin_request(request: flask.Request) -> flask.Response:
    email = request.form.get("email", "").strip()
    if "@" not in email:
        return _page(request, "signin.html", status=422, error="Enter the address you were added with.",
                     email=email)
    try:
        signin.request_link(email)
    except errors.RateLimited as exc:
        return _page(request, "signin.html", status=429, error=exc.detail, email=email)
    return _page(request, "signin_sent.html", email=email, minutes=signin.LINK_MINUTES)


def signin_confirm(request: flask.Request, token: str) -> flask.Response:
    """A link's GET only shows a button: mail scanners open links, and must not use them."""
    return _page(request, "signin_confirm.html", token=token)


def signin_use(request: flask.Request, token: str) -> flask.Response:
    try:
        session_id = signin.start_session(token)
    except errors.Unauthorized as exc:
        return _page(request, "signin.html", status=400, error=exc.detail)
    response = _redirect(request, BASE + "/", "Signed in.")
    response.set_cookie(COOKIE, session_id, max_age=signin.SESSION_HOURS * 3600, path=BASE + "/",
                        httponly=True, samesite="Lax", secure=_secure(request))
    return response


def signout(request: flask.Request) -> flask.Response:
    with as_person(request) as (tx, _):
        signin.end_session(tx, _session_id(request) or "")
    response = _redirect(request, BASE + "/signin")
    response.delete_cookie(COOKIE, path=BASE + "/")
    return response


# --- the inbox

FILTERS = ("status", "type", "priority", "source", "tag", "q", "sort", "tenant_id", "assignee", "sla_status",
           "created_after", "created_before")
VIEWS = [  # the left bar: name and filters
    ("Inbox", {"sort": "sla"}),
    ("Mine", {"assignee": "me", "sort": "sla"}),
    ("Unassigned", {"assignee": "none", "sort": "sla"}),
    ("Breached", {"sla_status": "breached", "sort": "sla"}),
    ("Newest", {"sort": "newest"}),
    ("Most votes", {"sort": "votes"}),
]
STATUSES = workflow.FORWARD + ("declined", "duplicate")


def _filters(request: flask.Request) -> tuple[dict[str, str], ListQuery, str | None]:
    """The filters in the URL, as the list takes them, and what was wrong with them."""
    chosen = {k: v for k, v in request.args.items() if k in FILTERS and v}
    chosen.setdefault("sort", "sla")
    try:
        return chosen, ListQuery.model_validate(
            {**chosen, "limit": PAGE_SIZE, "cursor": request.args.get("after") or None}), None
    except pydantic.ValidationError as exc:
        return chosen, ListQuery.model_validate({"sort": "sla", "limit": PAGE_SIZE}), _problem_text(exc)


def inbox(request: flask.Request) -> flask.Response:
    chosen, query, error = _filters(request)
    with as_person(request) as (tx, person):  # the frame's counts and team, then the page (it commits)
        counts = json.loads(_status_counts(tx, person, query.tenant_id))
        team = triage.team(tx, person, query.tenant_id)
        tenants = tx.records(queries.TENANT_NAMES) if person.is_staff else []
        page, next_cursor = feedback.list_items(tx, person, query)
    return _page(request, "inbox.html", person=person, items=json.loads(page), chosen=chosen, error=error,
                 next_url=_url(chosen, after=next_cursor) if next_cursor else None, counts=counts,
                 statuses=STATUSES, team=team, tenants=tenants, export_url=BASE + "/export.csv?" + urllib.parse.urlencode(chosen),
                 back=_url(chosen))


def _status_counts(tx: db.Tx, person: Principal, tenant_id: uuid.UUID | None) -> str:
    s = items.scope(person, tenant_id)
    return tx.scalar(s.sql(queries.STATUS_COUNTS), **s.params)


def export(request: flask.Request) -> flask.Response:
    """Every item the filters match, as CSV, streamed a page at a time."""
    chosen, query, error = _filters(request)
    if error:
        return _page(request, "error.html", status=422, message=error)
    with as_person(request) as (tx, person):
        first, cursor = feedback.list_items(tx, person, query)

    def rows() -> Iterator[str]:
        yield _csv_line(EXPORT_COLUMNS)
        page, after = first, cursor
        while True:
            for it in json.loads(page):
                yield _csv_line([_cell(it, column) for column in EXPORT_COLUMNS])
            if after is None:
                return
            with _acting(person) as tx:
                page, after = feedback.list_items(tx, person, query.model_copy(update={"cursor": after}))

    return flask.Response(rows(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="feedback.csv"'})


EXPORT_COLUMNS = ["id", "created_at", "feedback_type", "priority", "status", "sla_status", "summary", "description",
                  "submitter_email", "assignee_email", "vote_count", "tags", "github_issue_url"]


def _cell(item: dict[str, Any], column: str) -> str:
    value = item.get(column)
    text = ", ".join(value) if isinstance(value, list) else "" if value is None else str(value)
    # A spreadsheet would run a cell that starts like a formula: it is shown as text instead.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_line(cells: list[str]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


def bulk(request: flask.Request) -> flask.Response:
    """One change to each selected item (triage.bulk: each checked and audited alone); back
    to the list with how many were done, and which were refused and why."""
    form = request.form
    back = form.get("back", "")
    back = back if back.startswith(BASE + "/?") or back == BASE + "/" else BASE + "/"
    try:
        with as_person(request) as (tx, person):
            fields: dict[str, Any] = {"ids": form.getlist("ids"), "action": form.get("action", "")}
            if fields["action"] == "assign" and form.get("assignee"):
                member = tx.record(queries.TEAM_MEMBER, id=uuid.UUID(form["assignee"]))
                if member is None:
                    raise errors.ValidationFailed("Pick a member of the team.")
                fields.update(assignee_id=str(member["id"]), assignee_email=member["email"])
            for name in ("priority", "status", "reason"):
                if fields["action"] in (name, "status") and form.get(name):
                    fields[name] = form[name]
            results = triage.bulk(tx, person, _form(BulkBody, fields))
    except (errors.ApiError, pydantic.ValidationError, ValueError) as exc:
        if isinstance(exc, errors.ApiError) and exc.status in (401, 404):
            raise
        return _redirect(request, back, "Nothing changed: " + _problem_text(exc))
    refused = [f"{r['id'][:8]}: {r['detail']}" for r in results if not r["ok"]]
    message = f"{len(results) - len(refused)} of {len(results)} done."
    return _redirect(request, back, message + (" Refused: " + "; ".join(refused) if refused else ""))


def _url(filters: dict[str, str], **more: str) -> str:
    return BASE + "/?" + urllib.parse.urlencode({**filters, **more})


@contextlib.contextmanager
def _acting(person: Principal) -> Iterator[db.Tx]:
    """Another transaction for a person already signed in during this request."""
    with db.transaction() as tx:
        tx.set_tenant(person.tenant_id, staff=person.is_staff)
        yield tx



# --- one item


def item(request: flask.Request, id: uuid.UUID) -> flask.Response:  # noqa: A002 - the route's name
    with as_person(request) as (tx, person):
        shown = json.loads(feedback.get(tx, person, id))
    with _acting(person) as tx:
        history = json.loads(triage.history(tx, person, id))["items"]
    with _acting(person) as tx:
        notes = json.loads(triage.notes(tx, person, id))["items"]
    with _acting(person) as tx:
        team = triage.team(tx, person, uuid.UUID(shown["tenant_id"]) if person.is_staff else None)
    next_states = workflow.next_states(shown["status"])
    originals: list[dict[str, Any]] = []
    find = request.args.get("find", "").strip()[:200]
    if "duplicate" in next_states:  # the originals it may duplicate: those searched for, else the similar
        with _acting(person) as tx:
            originals = feedback.similar(tx, person, id, find or shown["summary"])
    return _page(request, "item.html", person=person, item=shown, history=history, notes=notes, team=team,
                 next_states=next_states, originals=originals, find=find,
                 context=sorted((shown.get("context") or {}).items()))


def act(request: flask.Request, id: uuid.UUID, action: str) -> flask.Response:  # noqa: A002
    """One change to the item from its page's forms; back to the page with what happened."""
    form = request.form
    back = f"{BASE}/items/{id}/"
    try:
        with as_person(request) as (tx, person):
            message = ACTIONS[action](tx, person, id, form)
    except (errors.ApiError, pydantic.ValidationError) as exc:
        if isinstance(exc, errors.ApiError) and exc.status in (401, 404):
            raise
        return _redirect(request, back, _problem_text(exc))
    return _redirect(request, back, message)


def _form(model: type[M], fields: dict[str, Any]) -> M:
    """A form's fields validated as the API validates the same JSON body (strict models
    take ids and dates as JSON writes them)."""
    return model.model_validate_json(json.dumps(fields))


def _mail_note(change: triage.Change) -> str:
    if change.mail == "queued":
        return "The submitter will be mailed."
    return "No mail: " + change.mail.removeprefix("none: ").rstrip(".") + "."


def _acknowledge(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    return "Acknowledged. " + _mail_note(triage.change_status(tx, p, id, "acknowledged"))


def _status(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    body = _form(StatusBody, {"status": form.get("status"), "reason": form.get("reason") or None,
                              "duplicate_of": form.get("duplicate_of") or None})
    change = triage.change_status(tx, p, id, body.status, reason=body.reason, duplicate_of=body.duplicate_of)
    return f"Now {_label(body.status)}. " + _mail_note(change)


def _respond(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    body = _form(RespondBody, {"response": form.get("response", ""), "status": form.get("status") or None})
    return "Response saved. " + _mail_note(triage.respond(tx, p, id, body.response, body.status))


def _assign(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    chosen = "me" if form.get("to_me") else form.get("assignee", "")  # the "Assign to me" button, or the list
    if not chosen:
        triage.assign(tx, p, id, None, None)
        return "Unassigned."
    person_id = p.user_id if chosen == "me" else uuid.UUID(chosen)
    row = tx.record(queries.TEAM_MEMBER, id=person_id)
    if row is None:
        raise errors.ValidationFailed("Pick a member of the team.")
    triage.assign(tx, p, id, person_id, row["email"])
    return f"Assigned to {row['name']}."


def _note(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    triage.add_note(tx, p, id, _form(NoteBody, {"body": form.get("body", "")}).body)
    return "Note added."


def _edit(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    fields = {"priority": form.get("priority"), "feedback_type": form.get("feedback_type")}
    if "tags" in form:
        fields["tags"] = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    feedback.update(tx, p, id, _form(FeedbackUpdate, {k: v for k, v in fields.items() if v}))
    return "Saved."


def _github_issue(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    triage.request_github_issue(tx, p, id)
    return "The GitHub issue is being made."


ACTIONS: dict[str, Callable[[db.Tx, Principal, uuid.UUID, Any], str]] = {
    "acknowledge": _acknowledge, "status": _status, "respond": _respond, "assign": _assign, "note": _note,
    "edit": _edit, "github-issue": _github_issue,
}



# --- the dashboard: each chart an SVG drawn here, with its numbers in a table beneath

TYPES = ("bug", "feature", "performance", "docs", "ux", "other")
PRIORITIES = ("urgent", "high", "medium", "low")


def _bars(values: dict[str, int], order: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Horizontal bars: each key's value and its length in a 100-wide chart."""
    keys = [k for k in order if k in values] if order else sorted(values)
    top = max([values[k] for k in keys] + [1])
    return [{"label": k, "value": values[k], "length": round(values[k] / top * 100, 1)} for k in keys]


def _weeks(weekly: list[dict[str, Any]]) -> dict[str, Any]:
    """Stacked columns of new items per type a week, and the response-time line, in a
    120 x 40 chart (12 columns of 10)."""
    counts = [json.loads(w["by_type"]) for w in weekly]
    top = max([sum(c.values()) for c in counts] + [1])
    columns = []
    for i, (week, by_type) in enumerate(zip(weekly, counts)):
        y, parts = 40.0, []
        for kind in TYPES:
            height = round(by_type.get(kind, 0) / top * 36, 2)
            if height:
                y -= height
                parts.append({"type": kind, "y": round(y, 2), "height": height, "value": by_type[kind]})
        columns.append({"x": i * 10 + 1, "week": str(week["week"]), "parts": parts, "total": sum(by_type.values()),
                        "by_type": by_type, "hours": week["response_hours"]})
    answered = [c for c in columns if c["hours"] is not None]
    most = max([float(c["hours"]) for c in answered] + [1.0])
    line = " ".join(f"{c['x'] + 4},{round(38 - float(c['hours']) / most * 34, 2)}" for c in answered)
    return {"columns": columns, "line": line, "top": top, "most_hours": most}


def dashboard(request: flask.Request) -> flask.Response:
    with as_person(request) as (tx, person):
        stats = json.loads(triage.stats(tx, person, None))
    with _acting(person) as tx:
        weekly = triage.weekly(tx, person, None)
    with _acting(person) as tx:
        names = {str(m["id"]): m["name"] for m in triage.team(tx, person, None)}
    assignees = {names.get(k, "someone else" if k != "unassigned" else k): v
                 for k, v in stats["open_by_assignee"].items()}
    return _page(request, "dashboard.html", person=person, stats=stats, types=_bars(stats["by_type"], TYPES),
                 statuses=_bars(stats["by_status"], STATUSES), priorities=_bars(stats["by_priority"], PRIORITIES),
                 assignees=_bars(assignees), sla=[(p, stats["sla_by_priority"].get(p, {"met": 0, "breached": 0}))
                                                 for p in PRIORITIES], weeks=_weeks(weekly), type_names=TYPES)


def static(request: flask.Request, name: str) -> flask.Response:
    found = _static_files().get(name)
    if found is None:
        raise wz.NotFound()
    path, media = found
    response = flask.Response(path.read_bytes(), mimetype=media)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def guide_address(request: flask.Request) -> flask.Response:
    return flask.Response(status=301, headers={"Location": BASE + "/"})


PAGES = [
    Page("GET", BASE + "/", inbox, "The inbox: the triage queue, filtered through the URL"),
    Page("GET", BASE + "/signin", signin_form, "Ask for a sign-in link", signed_in=False),
    Page("POST", BASE + "/signin", signin_request, "Mail a sign-in link", signed_in=False),
    Page("GET", BASE + "/signin/<token>", signin_confirm, "A sign-in link's page", signed_in=False),
    Page("POST", BASE + "/signin/<token>", signin_use, "Use a sign-in link", signed_in=False),
    Page("POST", BASE + "/signout", signout, "Sign out"),
    Page("GET", BASE + "/dashboard", dashboard, "Counts, SLA, workload and the last 12 weeks, as charts and tables"),
    Page("GET", BASE + "/export.csv", export, "The filtered list as CSV, every matching item"),
    Page("POST", BASE + "/bulk", bulk, "One change to each selected item"),
    Page("GET", BASE + "/items/<uuid:id>/", item, "One item"),
    Page("POST", BASE + "/items/<uuid:id>/<any(" + ",".join(f'"{a}"' for a in ACTIONS) + "):action>", act,
         "Change the item"),
    Page("GET", BASE + "/static/<name>", static, "Static files, named by their content", signed_in=False),
    Page("GET", "/admin/feedback/", guide_address, "The guide's address of the admin interface", signed_in=False),
]


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
            response = _redirect(request, f"{BASE}/signin?next={urllib.parse.quote(request.full_path)}")
        except IapSessionNeeded as needed:
            response = self._iap_session(request, needed.email)
        except (wz.NotFound, errors.NotFound):
            response = _page(request, "error.html", status=404, message="Nothing here, or not yours to see.")
        except wz.MethodNotAllowed:
            response = _page(request, "error.html", status=405, message="That address takes no such request.")
        except errors.Forbidden as exc:
            response = _page(request, "error.html", status=403, message=exc.detail)
        except errors.ServiceUnavailable:
            response = _page(request, "error.html", status=503, message="The database is not answering; try again.")
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
            return _page(request, "error.html", status=403, message=exc.detail)
        if request.method != "GET":
            return _page(request, "error.html", status=403, message="Reload the page and send the form again.")
        response = _redirect(request, request.full_path)
        response.set_cookie(COOKIE, session_id, max_age=signin.SESSION_HOURS * 3600, path=BASE + "/",
                            httponly=True, samesite="Lax", secure=_secure(request))
        return response

    def _dispatch(self, request: flask.Request) -> flask.Response:
        if request.path == BASE:
            return flask.Response(status=301, headers={"Location": BASE + "/"})
        index, args = self._urls.match(request.path, method=request.method)
        page = self.routes[index]
        if page.signed_in and request.method == "POST":
            session_id = _session_id(request)
            if not session_id:
                raise SignInNeeded()
            if not hmac.compare_digest(request.form.get("csrf", ""), csrf_token(session_id)):
                raise errors.Forbidden("This form is stale or not ours: reload the page and send it again.")
        return page.view(request, **args)


CONSOLE = Console(PAGES)
