"""The team's triage console: its pages over the operations the API runs (feedback,
triage), under the same rules: workflow, SLA, audit, tenancy. Signing in, the inbox and
its bulk changes and CSV, one item's page and its forms, and the dashboard; the web
layer (templates, sessions, CSRF, dispatch) is shared/console_web.py.
"""
from __future__ import annotations

import functools
import html
import json
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import flask
import pydantic
from markupsafe import Markup

from shared import console_web as web
from shared import db, errors, feedback, items, queries, signin, triage, workflow
from shared.auth import Principal
from shared.console_web import BASE, COOKIE
from shared.models import BulkBody, FeedbackUpdate, ListQuery, NoteBody, RespondBody, StatusBody

PAGE_SIZE = 50
# --- signing in


def signin_form(request: flask.Request) -> flask.Response:
    return web.show(request, "signin.html")


def signin_request(request: flask.Request) -> flask.Response:
    email = request.form.get("email", "").strip()
    if "@" not in email:
        return web.show(request, "signin.html", status=422, error="Enter the address you were added with.",
                        email=email)
    try:
        signin.request_link(email)
    except errors.RateLimited as exc:
        return web.show(request, "signin.html", status=429, error=exc.detail, email=email)
    return web.show(request, "signin_sent.html", email=email, minutes=signin.LINK_MINUTES)


def signin_confirm(request: flask.Request, token: str) -> flask.Response:
    """A link's GET only shows a button: mail scanners open links, and must not use them."""
    return web.show(request, "signin_confirm.html", token=token)


def signin_use(request: flask.Request, token: str) -> flask.Response:
    try:
        session_id = signin.start_session(token)
    except errors.Unauthorized as exc:
        return web.show(request, "signin.html", status=400, error=exc.detail)
    response = web.redirect(request, BASE + "/", "Signed in.")
    response.set_cookie(COOKIE, session_id, max_age=signin.SESSION_HOURS * 3600, path=BASE + "/",
                        httponly=True, samesite="Lax", secure=web.secure_cookies(request))
    return response


def signout(request: flask.Request) -> flask.Response:
    with web.as_person(request) as (tx, _):
        signin.end_session(tx, web.session_of(request) or "")
    response = web.redirect(request, BASE + "/signin")
    response.delete_cookie(COOKIE, path=BASE + "/")
    return response


# --- the inbox

FILTERS = ("status", "type", "priority", "source", "tag", "q", "sort", "tenant_id", "assignee", "sla_status",
           "created_after", "created_before")
STATUSES = workflow.FORWARD + ("declined", "duplicate")


def _filters(request: flask.Request) -> tuple[dict[str, str], ListQuery, str | None]:
    """The filters in the URL, as the list takes them, and what was wrong with them."""
    chosen = {k: v for k, v in request.args.items() if k in FILTERS and v}
    chosen.setdefault("sort", "sla")
    try:
        return chosen, ListQuery.model_validate(
            {**chosen, "limit": PAGE_SIZE, "cursor": request.args.get("after") or None}), None
    except pydantic.ValidationError as exc:
        return chosen, ListQuery.model_validate({"sort": "sla", "limit": PAGE_SIZE}), web.problem_text(exc)


def inbox(request: flask.Request) -> flask.Response:
    chosen, query, error = _filters(request)
    with web.as_person(request) as (tx, person):
        tenants = tx.records(queries.TENANT_NAMES) if person.is_staff else []
        # One round trip for the page, as the JSON list takes.
        s = items.scope(person, query.tenant_id)
        team_sql = s.sql(queries.TEAM)
        counts, team_rows, page = tx.batch((s.sql(queries.STATUS_COUNTS), s.params), (team_sql, s.params),
                                      feedback.list_statement(person, query, queries.ROW_JSON), final=True)
        found, next_cursor = feedback.list_page(page)
        team = tx.named(team_sql, team_rows)
    rows = json.loads(found)
    return web.show(request, "inbox.html", person=person, items=rows, rows=_inbox_rows(rows), chosen=chosen,
                    error=error, next_url=web.url(chosen, after=next_cursor) if next_cursor else None,
                    counts=json.loads(counts[0][0]), statuses=STATUSES, team=team,
                    tenants=tenants, back=web.url(chosen),
                    export_url=BASE + "/export.csv?" + urllib.parse.urlencode(chosen))


def _inbox_rows(rows: list[dict[str, Any]]) -> Markup:
    """The table's rows, each inbox_row.html filled with escaped values: a template loop
    over 50 rows cost more than the list query itself (`make bench`, console inbox)."""
    template, e, shown, now = web.fragment("inbox_row.html"), html.escape, _shown, web.now()
    return Markup("".join(template % dict(
        base=BASE, id=e(it["id"]), summary=e(it["summary"]), status=shown(it["status"]),
        type=shown(it["feedback_type"]), priority=shown(it["priority"]), sla_status=shown(it["sla_status"]),
        sla=shown(it["sla_status"], True), votes=int(it["vote_count"]),
        assignee=e(it["assignee_email"] or "unassigned"), age=web.age(it["created_at"], now)) for it in rows))


@functools.cache
def _shown(value: str, as_words: bool = False) -> str:
    """A status, type, priority or SLA state escaped (as words, or as a class name): a
    handful of values, each escaped once."""
    return html.escape(web.label(value) if as_words else value)


def export(request: flask.Request) -> flask.Response:
    """Every item the filters match, as CSV, streamed a page at a time."""
    chosen, query, error = _filters(request)
    if error:
        return web.show(request, "error.html", status=422, message=error)
    with web.as_person(request) as (tx, person):
        first, cursor = feedback.list_items(tx, person, query)

    def rows() -> Iterator[str]:
        yield _csv_line(EXPORT_COLUMNS)
        page, after = first, cursor
        while True:
            for it in json.loads(page):
                yield _csv_line([_cell(it, column) for column in EXPORT_COLUMNS])
            if after is None:
                return
            with web.acting(person) as tx:
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
        with web.as_person(request) as (tx, person):
            fields: dict[str, Any] = {"ids": form.getlist("ids"), "action": form.get("action", "")}
            if fields["action"] == "assign" and form.get("assignee"):
                member = tx.record(queries.TEAM_MEMBER, id=uuid.UUID(form["assignee"]))
                if member is None:
                    raise errors.ValidationFailed("Pick a member of the team.")
                fields.update(assignee_id=str(member["id"]), assignee_email=member["email"])
            for name in ("priority", "status", "reason"):
                if fields["action"] in (name, "status") and form.get(name):
                    fields[name] = form[name]
            results = triage.bulk(tx, person, web.form_model(BulkBody, fields))
    except (errors.ApiError, pydantic.ValidationError, ValueError) as exc:
        if isinstance(exc, errors.ApiError) and exc.status in (401, 404):
            raise
        return web.redirect(request, back, "Nothing changed: " + web.problem_text(exc))
    refused = [f"{r['id'][:8]}: {r['detail']}" for r in results if not r["ok"]]
    message = f"{len(results) - len(refused)} of {len(results)} done."
    return web.redirect(request, back, message + (" Refused: " + "; ".join(refused) if refused else ""))


# --- one item


def item(request: flask.Request, id: uuid.UUID) -> flask.Response:  # noqa: A002 - the route's name
    find = request.args.get("find", "").strip()[:200]
    with web.as_person(request) as (tx, person):
        shown = json.loads(feedback.get(tx, person, id))
        history = json.loads(triage.history(tx, person, id))["items"]
        notes = json.loads(triage.notes(tx, person, id))["items"]
        team = triage.team(tx, person, uuid.UUID(shown["tenant_id"]) if person.is_staff else None)
        next_states = workflow.next_states(shown["status"])
        # The originals it may duplicate: those searched for, else the similar.
        originals = feedback.similar(tx, person, id, find or shown["summary"]) if "duplicate" in next_states else []
    return web.show(request, "item.html", person=person, item=shown, history=history, notes=notes, team=team,
                    next_states=next_states, originals=originals, find=find,
                    context=sorted((shown.get("context") or {}).items()))


def act(request: flask.Request, id: uuid.UUID, action: str) -> flask.Response:  # noqa: A002
    """One change to the item from its page's forms; back to the page with what happened."""
    form = request.form
    back = f"{BASE}/items/{id}/"
    try:
        with web.as_person(request) as (tx, person):
            message = ACTIONS[action](tx, person, id, form)
    except (errors.ApiError, pydantic.ValidationError) as exc:
        if isinstance(exc, errors.ApiError) and exc.status in (401, 404):
            raise
        return web.redirect(request, back, web.problem_text(exc))
    return web.redirect(request, back, message)


def _mail_note(change: triage.Change) -> str:
    if change.mail == "queued":
        return "The submitter will be mailed."
    return "No mail: " + change.mail.removeprefix("none: ").rstrip(".") + "."


def _acknowledge(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    return "Acknowledged. " + _mail_note(triage.change_status(tx, p, id, "acknowledged"))


def _status(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    body = web.form_model(StatusBody, {"status": form.get("status"), "reason": form.get("reason") or None,
                                       "duplicate_of": form.get("duplicate_of") or None})
    change = triage.change_status(tx, p, id, body.status, reason=body.reason, duplicate_of=body.duplicate_of)
    return f"Now {web.label(body.status)}. " + _mail_note(change)


def _respond(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    body = web.form_model(RespondBody, {"response": form.get("response", ""), "status": form.get("status") or None})
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
    triage.add_note(tx, p, id, web.form_model(NoteBody, {"body": form.get("body", "")}).body)
    return "Note added."


def _edit(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    fields = {"priority": form.get("priority"), "feedback_type": form.get("feedback_type")}
    if "tags" in form:
        fields["tags"] = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    feedback.update(tx, p, id, web.form_model(FeedbackUpdate, {k: v for k, v in fields.items() if v}))
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
    with web.as_person(request) as (tx, person):
        stats = json.loads(triage.stats(tx, person, None))
        weekly = triage.weekly(tx, person, None)
        names = {str(m["id"]): m["name"] for m in triage.team(tx, person, None)}
    assignees = {names.get(k, "someone else" if k != "unassigned" else k): v
                 for k, v in stats["open_by_assignee"].items()}
    return web.show(request, "dashboard.html", person=person, stats=stats, types=_bars(stats["by_type"], TYPES),
                    statuses=_bars(stats["by_status"], STATUSES), priorities=_bars(stats["by_priority"], PRIORITIES),
                    assignees=_bars(assignees), weeks=_weeks(weekly), type_names=TYPES,
                    sla=[(p, stats["sla_by_priority"].get(p, {"met": 0, "breached": 0})) for p in PRIORITIES])


def guide_address(request: flask.Request) -> flask.Response:
    return flask.Response(status=301, headers={"Location": BASE + "/"})


PAGES = [
    web.Page("GET", BASE + "/", inbox, "The inbox: the triage queue, filtered through the URL"),
    web.Page("GET", BASE + "/signin", signin_form, "Ask for a sign-in link", signed_in=False),
    web.Page("POST", BASE + "/signin", signin_request, "Mail a sign-in link", signed_in=False),
    web.Page("GET", BASE + "/signin/<token>", signin_confirm, "A sign-in link's page", signed_in=False),
    web.Page("POST", BASE + "/signin/<token>", signin_use, "Use a sign-in link", signed_in=False),
    web.Page("POST", BASE + "/signout", signout, "Sign out"),
    web.Page("GET", BASE + "/dashboard", dashboard, "Counts, SLA, workload and 12 weeks, as charts and tables"),
    web.Page("GET", BASE + "/export.csv", export, "The filtered list as CSV, every matching item"),
    web.Page("POST", BASE + "/bulk", bulk, "One change to each selected item"),
    web.Page("GET", BASE + "/items/<uuid:id>/", item, "One item"),
    web.Page("POST", BASE + "/items/<uuid:id>/<any(" + ",".join(f'"{a}"' for a in ACTIONS) + "):action>", act,
             "Change the item"),
    web.Page("GET", BASE + "/static/<name>", web.static, "Static files, named by their content", signed_in=False),
    web.Page("GET", "/admin/feedback/", guide_address, "The guide's address of the admin interface", signed_in=False),
]


CONSOLE = web.Console(PAGES)
