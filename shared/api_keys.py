"""Operators' actions on API keys: making one for a role, listing and revoking them.

Run over the owner's connection; a key is returned once, to be shown once, and only its
hash is stored.
"""
from __future__ import annotations

import datetime
import uuid
from typing import Any

from shared import auth, db, errors, operators, queries


def create_key(tenant_id: uuid.UUID, role: str, user_id: uuid.UUID | None = None, *, label: str | None = None,
               expires_at: datetime.datetime | None = None) -> dict[str, Any]:
    """A new key, shown this once; `label` names who holds it (the audit trail shows it)."""
    if role not in auth.ROLES:
        raise errors.ValidationFailed(f"role is one of {', '.join(auth.ROLES)}")
    label = (label or "").strip() or None
    if label is not None and len(label) > 200:
        raise errors.ValidationFailed("A key's label is at most 200 characters.")
    if expires_at is not None and expires_at <= datetime.datetime.now(datetime.UTC):
        raise errors.ValidationFailed("A key's expiry must be in the future.")
    key_id = uuid.uuid4()
    token = auth.new_api_key()
    try:
        with db.transaction(owner=True) as tx:
            tx.set_tenant(tenant_id)
            tx.rows(
                queries.INSERT_KEY, id=key_id, tenant=tenant_id, role=role, label=label, expires_at=expires_at,
                user_id=str(user_id) if user_id else None, key_hash=auth.key_hash(token),
            )
    except errors.NotFound:  # the tenant foreign key
        raise errors.NotFound(f"No tenant {tenant_id}.") from None
    return {
        "id": str(key_id),
        "token": token,
        "role": role,
        "tenant_id": str(tenant_id),
        "user_id": str(user_id) if user_id else None,
        "label": label,
        "expires_at": expires_at.isoformat() if expires_at else None,
    }


def revoke_key(key: str) -> dict[str, Any]:
    """Revoke a key named by its id or given itself (pfk_...)."""
    key_id = _uuid_or_none(key)
    key_hash = auth.key_hash(key) if key.startswith(auth.API_KEY_PREFIX) else b""
    with db.transaction(owner=True) as tx:
        found = tx.one(queries.FIND_KEY, id=str(key_id) if key_id else None, key_hash=key_hash)
        if found is None:
            raise errors.NotFound("No such API key (give its id, or the key itself).")
        key_id, tenant_id = found
        tx.set_tenant(tenant_id)
        _, tenant, role, label, revoked_at = tx.single(queries.REVOKE_KEY, id=key_id)
    return {"id": str(key_id), "tenant_id": str(tenant), "role": role, "label": label,
            "revoked_at": revoked_at.isoformat()}


def list_keys(tenant_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Every key (of one tenant, if given), without its secret: who holds it, and until when."""
    with operators.transaction() as tx:
        return [operators.plain(row)
                for row in tx.records(queries.LIST_KEYS, tenant=str(tenant_id) if tenant_id else None)]


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
