"""What every change to an item builds on, whoever makes it (the client API, triage,
GitHub sync, the webhook): which items a caller sees, an item locked for change,
its tenant, and the audit row that records the change."""
from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from shared import errors, queries
from shared.auth import Principal
from shared.db import Tx


def viewer(p: Principal) -> dict[str, Any]:
    """The parameters ITEM_JSON shows an item by: whose vote, and whether emails show."""
    return {"viewer": p.user_id, "see_emails": p.can_triage}


@dataclass(frozen=True)
class Scope:
    """Which tenants' items a statement reads, and the parameters that say so."""

    all_tenants: bool
    params: dict[str, Any] = field(default_factory=dict)

    def sql(self, statement: queries.Scoped) -> str:
        return statement.all_tenants if self.all_tenants else statement.tenant

    @property
    def filter(self) -> str:
        return queries.ALL_TENANTS if self.all_tenants else queries.TENANT_SCOPE


def scope(p: Principal, tenant_id: uuid.UUID | None = None) -> Scope:
    """The caller's tenant; staff see every tenant unless they name one."""
    if p.is_staff and tenant_id is None:
        return Scope(True)
    if tenant_id is not None and not p.is_staff and tenant_id != p.tenant_id:
        raise errors.Forbidden("Only staff may name another tenant.")
    return Scope(False, {"tenant": tenant_id or p.tenant_id})


class Locked(NamedTuple):
    """An item locked for change, with what the change needs to know."""

    tenant_id: uuid.UUID
    status: str
    submitted_by: uuid.UUID | None
    before: dict[str, Any]  # the changeable fields, as an audit row records them
    created_at: datetime.datetime


def lock(tx: Tx, p: Principal, item_id: uuid.UUID) -> Locked:
    s = scope(p)
    row = tx.record(s.sql(queries.LOCK_FEEDBACK), id=item_id, **s.params)
    if row is None:
        raise errors.NotFound("No such feedback.")
    return Locked(row["tenant_id"], row["status"], row["submitted_by"], json.loads(row["before"]),
                  row["created_at"])


def tenant_of(tx: Tx, p: Principal, item_id: uuid.UUID) -> uuid.UUID:
    """The tenant of an item the caller may see, for reads of what hangs off it."""
    s = scope(p)
    tenant_id = tx.scalar(s.sql(queries.FIND_FEEDBACK), id=item_id, **s.params)
    if tenant_id is None:
        raise errors.NotFound("No such feedback.")
    return tenant_id


def audit(
    tx: Tx, p: Principal, tenant_id: uuid.UUID, item_id: uuid.UUID, action: str, old: Any, new: Any
) -> None:
    """Record a change in the transaction that makes it."""
    _audit_row(tx, p.actor, p.role, tenant_id, item_id, action, old, new)


def audit_system(tx: Tx, actor: str, tenant_id: uuid.UUID, item_id: uuid.UUID, action: str, old: Any, new: Any) -> None:
    """Record a change the service makes on its own (from GitHub), named by the function."""
    _audit_row(tx, actor, "system", tenant_id, item_id, action, old, new)


def _audit_row(
    tx: Tx, actor: str, role: str, tenant_id: uuid.UUID, item_id: uuid.UUID, action: str, old: Any, new: Any
) -> None:
    tx.rows(
        queries.AUDIT, tenant=tenant_id, id=item_id, actor=actor, role=role, action=action,
        old=json.dumps(old, default=str), new=json.dumps(new, default=str),
    )
