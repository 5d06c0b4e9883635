"""The inbox: the triage queue, filtered through the URL, and its bulk changes."""
from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import flask
import pydantic

from shared import console_session as session
from shared import console_team
from shared import console_web as web
from shared import errors, feedback, items, queries, triage, workflow
from shared.choices import STATUSES
from shared.console_paths import BASE
from shared.models import BulkBody, ListQuery

PAGE_SIZE = 50
FILTERS = ("status", "type", "priority", "source", "tag", "q", "sort", "tenant_id", "assignee", "sla_status",
           "created_after", "created_before")
# How each filter is named on its chip (the sort is an order, not a filter: it has none).
FILTER_NAMES = {"status": "status", "type": "type", "priority": "priority", "source": "source", "tag": "tag",
                "q": "search", "tenant_id": "tenant", "assignee": "assignee", "sla_status": "SLA",
                "created_after": "from", "created_before": "before"}
# Where the bulk form moves items: declining asks for the submitters' reason there; a
# duplicate names its original, each its own, from the item's page.
BULK_STATUSES = workflow.FORWARD[1:] + ("declined",)
# The bulk form's fields each action takes, by the names BulkBody gives them.
BULK_FIELDS = {"assign": ("assignee_id",), "priority": ("priority",), "status": ("status", "reason")}

pages = flask.Blueprint("inbox", __name__, url_prefix=BASE)


def filters(args: Any, page_size: int) -> tuple[dict[str, str], ListQuery, str | None]:
    """The filters in the URL, as the list takes them, and what was wrong with them."""
    chosen = {k: v for k, v in args.items() if k in FILTERS and v}
    chosen.setdefault("sort", "sla")
    try:
        return chosen, ListQuery.model_validate(
            {**chosen, "limit": page_size, "cursor": args.get("after") or None}), None
    except pydantic.ValidationError as exc:
        return chosen, ListQuery.model_validate({"sort": "sla", "limit": page_size}), web.problem_text(exc)


@pages.get("/")
def page() -> str:
    """The inbox: the triage queue, filtered through the URL"""
    chosen, query, error = filters(flask.request.args, PAGE_SIZE)
    with session.as_person() as (tx, person):
        tenants = tx.records(queries.TENANT_NAMES) if person.is_staff else []
        # One round trip for the page, as the JSON list takes.
        s = items.scope(person, query.tenant_id)
        team_sql = s.sql(queries.TEAM)
        counts, team_rows, found = tx.batch((s.sql(queries.STATUS_COUNTS), s.params), (team_sql, s.params),
                                            feedback.list_statement(person, query, queries.ROW_JSON), final=True)
        rows, next_cursor = feedback.list_page(found)
        team = tx.named(team_sql, team_rows)
    # Over every tenant, only staff may be assigned every item shown.
    assignable = [m for m in team if m["role"] == "staff"] if s.all_tenants else team
    following: dict[str, Any] = {**chosen, "after": next_cursor}
    return flask.render_template(
        "inbox.html", person=person, items=json.loads(rows), chosen=chosen, error=error, counts=json.loads(counts[0][0]),
        next_url=flask.url_for("inbox.page", **following) if next_cursor else None,
        statuses=STATUSES, bulk_statuses=BULK_STATUSES, team=team, assignable=assignable, tenants=tenants,
        chips=chips(chosen, team, tenants),
        now=datetime.datetime.now(datetime.UTC), item_root=_item_root())


def chips(chosen: dict[str, str], team: list[Any], tenants: list[Any]) -> list[tuple[str, dict[str, str]]]:
    """Each active filter in words, with the filters left once it is removed."""
    names = {"me": "me", "none": "unassigned", **{str(m["id"]): m["name"] for m in [*team, *tenants]}}
    return [(f"{FILTER_NAMES[key]}: {names.get(value, value.replace('_', ' '))}",
             {k: v for k, v in chosen.items() if k != key})
            for key, value in chosen.items() if key in FILTER_NAMES]


def _item_root() -> str:
    """The rows' links start with this, the item's id after it: one url_for for the page, not
    one a row (a fifth of the page's time)."""
    return flask.url_for("item.page", id=_ANY_ID).removesuffix(f"{_ANY_ID}/")


_ANY_ID = uuid.UUID(int=0)


@pages.post("/bulk")
def bulk() -> Any:
    """One change to each selected item"""
    # Each checked and audited alone (triage.bulk); back to the list with how many were
    # done, and which were refused and why.
    form = flask.request.form
    inbox = flask.url_for("inbox.page")
    back = form.get("back") or inbox
    if not (web.is_console_path(back) and (back == inbox or back.startswith(inbox + "?"))):
        raise errors.BadRequest("This form's way back is not the inbox: reload the page and send it again.")
    action = form.get("action", "")
    fields: dict[str, Any] = {"ids": form.getlist("ids"), "action": action,
                              **{name: form[name] for name in BULK_FIELDS.get(action, ()) if form.get(name)}}
    return web.after_change(back, lambda: _bulk(fields), refused="Nothing changed: ")


def _bulk(fields: dict[str, Any]) -> str:
    with session.as_person() as (tx, person):
        body = web.form_model(BulkBody, fields)
        if body.assignee_id is not None:
            body = body.model_copy(update={"assignee_email": console_team.member(tx, body.assignee_id)["email"]})
        results = triage.bulk(tx, person, body)
    refused = [f"{r['id'][:8]}: {r['detail']}" for r in results if not r["ok"]]
    message = f"{len(results) - len(refused)} of {len(results)} done."
    return message + (" Refused: " + "; ".join(refused) if refused else "")
