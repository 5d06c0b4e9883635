"""One item's page, and its forms: each a change over the operations the API runs."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import flask

from shared import console_session as session
from shared import console_team
from shared import console_web as web
from shared import db, errors, feedback, queries, triage, workflow
from shared.auth import Principal
from shared.console_paths import BASE
from shared.models import AssignBody, FeedbackUpdate, NoteBody, RespondBody, StatusBody

pages = flask.Blueprint("item", __name__, url_prefix=BASE + "/items")


@pages.get("/<uuid:id>/")
def page(id: uuid.UUID) -> str:  # noqa: A002 - the route's name
    """One item"""
    find = flask.request.args.get("find", "").strip()[:200]
    with session.as_person() as (tx, person):
        shown = json.loads(feedback.get(tx, person, id))
        history = json.loads(triage.history(tx, person, id))["items"]
        notes = json.loads(triage.notes(tx, person, id))["items"]
        tenant_id = uuid.UUID(shown["tenant_id"])
        team = triage.team(tx, person, tenant_id if person.is_staff else None)
        next_states = workflow.next_states(shown["status"])
        # The originals it may duplicate, of its own tenant: those searched for, else the similar.
        originals = (feedback.similar(tx, person, id, find or shown["summary"], tenant_id)
                     if "duplicate" in next_states else [])
        bouncing = shown.get("submitter_email") and tx.record(queries.BOUNCING, tenant=tenant_id,
                                                              email=shown["submitter_email"])
    return flask.render_template("item.html", person=person, item=shown, history=history, notes=notes, team=team,
                                 next_states=next_states, originals=originals, find=find, bouncing=bouncing,
                                 context=sorted((shown.get("context") or {}).items()))


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
    if "to_me" in form and form["to_me"] != "1":
        raise errors.ValidationFailed("to_me: the \"Assign to me\" button sends 1.")
    # The "Assign to me" button, or the list.
    person_id = p.user_id if "to_me" in form else web.form_model(
        AssignBody, {"assignee_id": form.get("assignee") or None}).assignee_id
    if person_id is None:
        triage.assign(tx, p, id, None, None)
        return "Unassigned."
    member = console_team.member(tx, person_id)
    triage.assign(tx, p, id, person_id, member["email"])
    return f"Assigned to {member['name']}."


def _note(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    triage.add_note(tx, p, id, web.form_model(NoteBody, {"body": form.get("body", "")}).body)
    return "Note added."


def _edit(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    """The fields the form changed, and only those: the form sends every field, and an
    unchanged one would still be audited (and an unchanged high priority ask GitHub again)."""
    fields: dict[str, Any] = {name: form[name] for name in ("priority", "feedback_type") if name in form}
    if "tags" in form:
        fields["tags"] = [t.strip() for t in form["tags"].split(",") if t.strip()]
    wanted = web.form_model(FeedbackUpdate, fields)
    current = json.loads(feedback.get(tx, p, id))
    changed = {name: value for name in wanted.model_fields_set if (value := getattr(wanted, name)) != current[name]}
    if not changed:
        return "Nothing changed."
    feedback.update(tx, p, id, FeedbackUpdate.model_validate(changed))
    return "Saved."


def _github_issue(tx: db.Tx, p: Principal, id: uuid.UUID, form: Any) -> str:  # noqa: A002
    triage.request_github_issue(tx, p, id)
    return "The GitHub issue is being made."


ACTIONS: dict[str, Callable[[db.Tx, Principal, uuid.UUID, Any], str]] = {
    "acknowledge": _acknowledge, "status": _status, "respond": _respond, "assign": _assign, "note": _note,
    "edit": _edit, "github-issue": _github_issue,
}


@pages.post("/<uuid:id>/" + web.one_of(ACTIONS, "action"))
def act(id: uuid.UUID, action: str) -> Any:  # noqa: A002
    """Change the item"""
    # One change from the page's forms; back to the page with what happened.
    def change() -> str:
        with session.as_person() as (tx, person):
            return ACTIONS[action](tx, person, id, flask.request.form)
    return web.after_change(flask.url_for("item.page", id=id), change)
