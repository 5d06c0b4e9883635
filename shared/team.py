"""Operators' and admins' actions on the team's people: adding a member, the mails they
get, their role, signing them out, and their leaving.

The actions on one member take the transaction they run in: manage.py's across tenants
(shared/operators.py), the console's as the person acting (row-level security).
"""
from __future__ import annotations

import uuid
from typing import Any

from shared import db, errors, operators, queries
from shared.db import Tx
from shared.items import audit_system
from shared.workflow import CLOSED

PERSON_ROLES = ("admin", "staff")  # an admin of the person's tenant, or staff across tenants


def add_person(tenant_id: uuid.UUID, email: str, name: str, role: str) -> dict[str, Any]:
    """A team member who signs in to the console by a link mailed to `email`."""
    from pydantic import TypeAdapter, ValidationError

    from shared.models import Email

    _check_role(role)
    name = name.strip()
    if not name or len(name) > 200:
        raise errors.ValidationFailed("A person's name is 1 to 200 characters.")
    try:
        address = TypeAdapter(Email).validate_python(email.strip()).lower()
    except ValidationError as exc:
        raise errors.ValidationFailed(f"email: {exc.errors()[0]['msg']}") from None
    try:
        with db.transaction(owner=True) as tx:
            tx.set_tenant(tenant_id)
            row = tx.record(queries.INSERT_PERSON, tenant=tenant_id, email=address, name=name, role=role)
    except errors.NotFound:  # the tenant foreign key
        raise errors.NotFound(f"No tenant {tenant_id}.") from None
    except errors.Conflict:
        raise errors.Conflict(f"{address} is already a team member.") from None
    assert row is not None  # INSERT ... RETURNING
    return operators.plain(row)


def configure_person(email: str, *, alerts: bool | None = None, digest: bool | None = None) -> dict[str, Any]:
    """Which mails a team member gets: alerts about urgent items, the morning digest."""
    with operators.transaction() as tx:
        row = tx.record(queries.CONFIGURE_PERSON, email=email.strip(), alerts=alerts, digest=digest)
    return operators.plain(_member(row, email))


def remove_person(tx: Tx, email: str, actor: str) -> dict[str, Any]:
    """A team member leaves: signs in no more (their sessions end, their links stop working),
    gets no mail, and their open items are unassigned, each in its history as done by `actor`.
    What they did stays in the history under their name."""
    row = _member(tx.record(queries.REMOVE_PERSON, email=email.strip()), email)
    _end_sessions(tx, row["id"])
    for tenant_id, item_id in tx.rows(queries.UNASSIGN_PERSON, person=row["id"], closed=sorted(CLOSED)):
        audit_system(tx, actor, tenant_id, item_id, "assignment",
                     {"assignee_id": str(row["id"]), "assignee_email": row["email"]},
                     {"assignee_id": None, "assignee_email": None})
    return operators.plain(row)


def set_role(tx: Tx, email: str, role: str) -> dict[str, Any]:
    """Make a team member an admin of their tenant or staff across tenants; their sessions end,
    so that what they may do changes at once."""
    _check_role(role)
    row = _member(tx.record(queries.SET_PERSON_ROLE, email=email.strip(), role=role), email)
    _end_sessions(tx, row["id"])
    return operators.plain(row)


def end_sessions(tx: Tx, email: str) -> int:
    """Sign a team member out everywhere: how many sessions ended."""
    row = _member(tx.record(queries.PERSON_BY_ADDRESS, email=email.strip()), email)
    return _end_sessions(tx, row["id"])


def list_people(tenant_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    with operators.transaction() as tx:
        return [operators.plain(row)
                for row in tx.records(queries.LIST_PEOPLE, tenant=str(tenant_id) if tenant_id else None)]


def _check_role(role: str) -> None:
    if role not in PERSON_ROLES:
        raise errors.ValidationFailed(f"A person's role is one of {', '.join(PERSON_ROLES)}.")


def _member(row: dict[str, Any] | None, email: str) -> dict[str, Any]:
    """The team member a statement found by their address (NotFound if it found none)."""
    if row is None:
        raise errors.NotFound(f"No team member has the address {email}.")
    return row


def _end_sessions(tx: Tx, person_id: uuid.UUID) -> int:
    return len(tx.rows(queries.END_PERSON_SESSIONS, person=person_id))
