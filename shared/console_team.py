"""The console's Team page: who may triage, and what happens when they leave.

An admin sees and manages the admins of their own tenant; staff see everyone and may
make anyone staff. Nobody removes themselves or changes their own role (another admin,
or an operator with manage.py, does), so a tenant is never left without a way back.
"""
from __future__ import annotations

import uuid
from typing import Any

import flask

from shared import console_session as session
from shared import console_web as web
from shared import db, errors, queries, team
from shared.auth import Principal
from shared.console_paths import BASE

pages = flask.Blueprint("team", __name__, url_prefix=BASE + "/team")


def member(tx: db.Tx, person_id: uuid.UUID) -> dict[str, Any]:
    """The team member an assignment names (anyone else is refused)."""
    found = tx.record(queries.TEAM_MEMBER, id=person_id)
    if found is None:
        raise errors.ValidationFailed("Pick a member of the team.")
    return found


@pages.get("")
def page() -> str:
    """The team: who may triage"""
    with session.as_person() as (tx, person):
        people = tx.records(queries.LIST_PEOPLE, tenant=None if person.role == "staff" else str(person.tenant_id))
    return flask.render_template("team.html", person=person, people=people, roles=team.PERSON_ROLES)


def _may_change(person: Principal, target: dict[str, Any], action: str, role: str) -> None:
    if person.role != "staff" and (target["role"] == "staff" or role == "staff"):
        raise errors.Forbidden("Only staff change what staff may do.")
    if action != "signout" and target["id"] == person.user_id:
        raise errors.Forbidden("Another admin, or an operator with manage.py, changes your own access.")


def _remove(tx: Any, person: Principal, target: dict[str, Any], form: Any) -> str:
    team.remove_person(tx, target["email"], person.actor)
    return f"{target['name']} was removed: signed out, and their open items are unassigned."


def _role(tx: Any, person: Principal, target: dict[str, Any], form: Any) -> str:
    changed = team.set_role(tx, target["email"], form.get("role", ""))
    return f"{changed['name']} is now {changed['role']}; they sign in again."


def _signout(tx: Any, person: Principal, target: dict[str, Any], form: Any) -> str:
    ended = team.end_sessions(tx, target["email"])
    return f"{target['name']} was signed out everywhere ({ended} session{'s' if ended != 1 else ''})."


ACTIONS = {"remove": _remove, "role": _role, "signout": _signout}


@pages.post("/" + web.one_of(ACTIONS, "action"))
def change(action: str) -> Any:
    """Remove a team member, change their role, or sign them out"""
    form = flask.request.form
    with session.as_person() as (tx, person):
        target = tx.record(queries.PERSON_BY_ADDRESS, email=form.get("email", ""))
        if target is None:
            raise errors.NotFound("No such team member.")
        _may_change(person, target, action, form.get("role", ""))
        message = ACTIONS[action](tx, person, target, form)
    return web.redirect(flask.url_for("team.page"), message)
