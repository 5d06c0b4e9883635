"""What admins and staff do to an item: move it through the workflow, answer the
submitter, assign it, read its history and the figures; and the same change to many
items at once. Every change is audited in the transaction that makes it."""
from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from shared import db, errors, github_links, outbox, queries
from shared.auth import Principal
from shared.models import BulkBody
from shared.config import settings
from shared.db import Tx
from shared.items import audit, lock, scope, tenant_of, viewer
from shared.workflow import check_transition


class Change(NamedTuple):
    """A changed item's JSON, and what became of the mail the change may earn its submitter."""

    item: str
    mail: str


def change_status(
    tx: Tx,
    p: Principal,
    item_id: uuid.UUID,
    target: str,
    *,
    reason: str | None = None,
    duplicate_of: uuid.UUID | None = None,
    response: str | None = None,
) -> Change:
    item = lock(tx, p, item_id)
    tenant_id = item.tenant_id
    check_transition(item.status, target)
    if target == "declined" and not reason:
        raise _missing("reason", "Declining needs a reason for the submitter.")
    if target == "duplicate":
        _check_original(tx, tenant_id, item_id, duplicate_of)
    elif duplicate_of is not None:
        raise errors.ValidationFailed("duplicate_of goes with status duplicate only.")
    old: dict[str, Any] = {"status": item.status}
    new: dict[str, Any] = {"status": target}
    if reason and target == "declined":
        new["reason"] = reason
    if duplicate_of is not None:
        new["duplicate_of"] = str(duplicate_of)
        tx.rows(queries.MOVE_VOTES, tenant=tenant_id, duplicate=item_id, original=duplicate_of)
    audit(tx, p, tenant_id, item_id, "status", old, new)
    if response is not None:
        audit(tx, p, tenant_id, item_id, "response", None, response)
    mail = tell_submitter(tx, tenant_id, item_id, target, response, reason if target == "declined" else None)
    return Change(tx.scalar_and_commit(
        queries.TRANSITION, tenant=tenant_id, id=item_id, status=target, reason=reason,
        duplicate_of=duplicate_of, response=response, **viewer(p),
    ), mail)


def respond(tx: Tx, p: Principal, item_id: uuid.UUID, response: str, status: str | None) -> Change:
    if status is not None:
        return change_status(tx, p, item_id, status, response=response)
    item = lock(tx, p, item_id)
    tenant_id = item.tenant_id
    audit(tx, p, tenant_id, item_id, "response", None, response)
    mail = tell_submitter(tx, tenant_id, item_id, item.status, response, None)
    return Change(tx.scalar_and_commit(queries.SET_RESPONSE, tenant=tenant_id, id=item_id, response=response,
                                 **viewer(p)), mail)


def assign(tx: Tx, p: Principal, item_id: uuid.UUID, assignee_id: uuid.UUID | None, email: str | None) -> str:
    item = lock(tx, p, item_id)
    if assignee_id is not None:
        _check_assignable(tx, item.tenant_id, assignee_id)
    new = {"assignee_id": str(assignee_id) if assignee_id else None, "assignee_email": email}
    audit(tx, p, item.tenant_id, item_id, "assignment", {k: item.before[k] for k in new}, new)
    return tx.scalar_and_commit(queries.ASSIGN, tenant=item.tenant_id, id=item_id, assignee_id=assignee_id,
                          assignee_email=email, **viewer(p))


def _check_assignable(tx: Tx, tenant_id: uuid.UUID, assignee_id: uuid.UUID) -> None:
    """A person of another tenant's team is nobody to assign this tenant's items to (staff
    are everyone's). An id of no person the caller sees is let through: API callers name
    their own users."""
    person = tx.record(queries.PERSON_TENANT, id=assignee_id)
    if person is not None and person["tenant_id"] != tenant_id and person["role"] != "staff":
        raise errors.ValidationFailed(
            "The assignee is on another tenant's team.",
            errors=[{"field": "assignee_id", "message": "Not on this tenant's team", "type": "other_tenant"}])


def link_github(tx: Tx, p: Principal, item_id: uuid.UUID, url: str | None) -> str:
    item = lock(tx, p, item_id)
    if url is not None and not p.is_staff:
        _check_own_repository(tx, item.tenant_id, url)
    audit(tx, p, item.tenant_id, item_id, "github_link", item.before["github_issue_url"], url)
    return tx.scalar_and_commit(queries.LINK_GITHUB, tenant=item.tenant_id, id=item_id, url=url, **viewer(p))


def request_github_issue(tx: Tx, p: Principal, item_id: uuid.UUID) -> str:
    """Ask for the item's GitHub issue whatever its priority; it is made after commit."""
    item = lock(tx, p, item_id)
    if item.before["github_issue_url"]:
        raise errors.Conflict("The item already has a GitHub issue.")
    if not _repository(tx, item.tenant_id):
        raise errors.Conflict("No GitHub repository is configured for this tenant, so no issue can be made: an"
                              " operator names one (manage.py tenants configure ID --github-repository owner/name,"
                              " or GITHUB_REPOSITORY for every tenant).")
    audit(tx, p, item.tenant_id, item_id, "github_requested", None, None)
    outbox.enqueue(tx, queries.ENQUEUE_GITHUB, tenant=item.tenant_id, id=item_id, reason="requested")
    return tx.scalar_and_commit(queries.GET_FEEDBACK.tenant, tenant=item.tenant_id,
                          id=item_id, **viewer(p))


def add_note(tx: Tx, p: Principal, item_id: uuid.UUID, body: str) -> str:
    tenant_id = lock(tx, p, item_id).tenant_id
    audit(tx, p, tenant_id, item_id, "note", None, body)
    return tx.scalar_and_commit(queries.ADD_NOTE, tenant=tenant_id, id=item_id, author=p.actor, body=body)


def notes(tx: Tx, p: Principal, item_id: uuid.UUID) -> str:
    tenant_id = tenant_of(tx, p, item_id)
    return '{"items":' + tx.scalar_and_commit(queries.NOTES, tenant=tenant_id, id=item_id) + "}"


def history(tx: Tx, p: Principal, item_id: uuid.UUID) -> str:
    tenant_id = tenant_of(tx, p, item_id)
    return '{"items":' + tx.scalar_and_commit(queries.HISTORY, tenant=tenant_id, id=item_id) + "}"


MAIL_QUEUED = "queued"
NOT_MAILED = "none: this change is not mailed"
NO_ADDRESS = "none: the item has no submitter address"
OPTED_OUT = "none: the submitter opted out of these mails"


def tell_submitter(
    tx: Tx, tenant_id: uuid.UUID, item_id: uuid.UUID, status: str, response: str | None, reason: str | None
) -> str:
    """A mail to the submitter in the change's transaction, if the change earns one
    (completion, decline, or a public response) and the submitter can get it; what became of it."""
    notice = status if status in ("completed", "declined") else "response" if response is not None else None
    if notice is None:
        return NOT_MAILED
    has_address, opted_out = tx.single(queries.MAIL_STATE, tenant=tenant_id, id=item_id)
    if not has_address:
        return NO_ADDRESS
    if opted_out:
        return OPTED_OUT
    outbox.enqueue(tx, queries.ENQUEUE_MAIL, tenant=tenant_id, id=item_id, notice=notice, status=status,
                   response=response, reason=reason, in_reply_to=None)
    return MAIL_QUEUED


def _check_original(tx: Tx, tenant_id: uuid.UUID, item_id: uuid.UUID, original: uuid.UUID | None) -> None:
    if original is None:
        raise _missing("duplicate_of", "A duplicate names the item it duplicates.")
    if original == item_id:
        raise errors.ValidationFailed("An item cannot duplicate itself.")
    found = tx.scalar(queries.DUPLICATE_TARGET, tenant=tenant_id, id=original)
    if found is None:
        raise errors.ValidationFailed("duplicate_of names no item of this tenant.")
    if found == "duplicate":
        raise errors.ValidationFailed("duplicate_of names a duplicate; name its original.")


def _repository(tx: Tx, tenant_id: uuid.UUID) -> str:
    """Where the tenant's issues go: its own repository, or the deployment's ("" for none)."""
    return tx.scalar(queries.TENANT_GITHUB_REPOSITORY, tenant=tenant_id) or settings().github_repository


def _check_own_repository(tx: Tx, tenant_id: uuid.UUID, url: str) -> None:
    """An admin links issues of the repository its tenant's issues go to, and no other:
    a webhook event for a linked issue changes the item."""
    repository = _repository(tx, tenant_id)
    if repository and github_links.same_repository(url, repository):
        return
    where = f"https://{github_links.web_host()}/{repository}" if repository else "none is configured"
    raise errors.Forbidden(
        f"Admins may link issues of their tenant's GitHub repository only ({where}); staff may link any.",
        errors=[{"field": "url", "message": "Not an issue of the tenant's repository", "type": "forbidden"}],
    )


def _missing(field: str, detail: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(detail, errors=[{"field": field, "message": "Field required", "type": "missing"}])


def stats(tx: Tx, p: Principal, tenant_id: uuid.UUID | None) -> str:
    """The client API's stats plus SLA and assignee figures; per tenant too for staff over
    all tenants."""
    s = scope(p, tenant_id)
    sql = queries.TRIAGE_STATS_ALL_TENANTS if s.all_tenants else queries.TRIAGE_STATS
    return tx.scalar_and_commit(sql, **s.params)


def team(tx: Tx, p: Principal, tenant_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The people who may be assigned the tenant's items: its admins, and staff."""
    s = scope(p, tenant_id)
    return tx.records(s.sql(queries.TEAM), **s.params)


def weekly(tx: Tx, p: Principal, tenant_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The last 12 weeks, oldest first: new items per type, and mean hours to acknowledgement."""
    s = scope(p, tenant_id)
    return tx.records(s.sql(queries.WEEKLY), **s.params)


def bulk(tx: Tx, p: Principal, body: BulkBody) -> list[dict[str, Any]]:
    """The same change to each item, each in a savepoint of its own: what one refuses is
    undone alone, and the answer says which were refused and why."""
    from pg8000.exceptions import DatabaseError

    from shared import feedback, models

    def change(item_id: uuid.UUID) -> None:
        if body.action == "acknowledge":
            change_status(tx, p, item_id, "acknowledged")
        elif body.action == "assign":
            assign(tx, p, item_id, body.assignee_id, body.assignee_email)
        elif body.action == "priority":
            if body.priority is None:
                raise _missing("priority", "Setting the priority needs the priority.")
            feedback.update(tx, p, item_id, models.FeedbackUpdate.model_validate({"priority": body.priority}))
        else:
            if body.status is None:
                raise _missing("status", "Moving items needs the status to move them to.")
            change_status(tx, p, item_id, body.status, reason=body.reason)

    tx.hold_commits()
    results: list[dict[str, Any]] = []
    for item_id in dict.fromkeys(body.ids):
        try:
            with tx.savepoint():
                change(item_id)
            results.append({"id": str(item_id), "ok": True})
        except (errors.ApiError, DatabaseError) as exc:
            problem = exc if isinstance(exc, errors.ApiError) else db.translate(exc)
            results.append({"id": str(item_id), "ok": False, "status": problem.status, "detail": problem.detail})
    return results
