"""Operator actions on tenants, API keys and the team's people, run over the owner's connection.

Writes still pass row-level security: each sets the tenant it writes for.
Secrets are returned once, to be shown once; only their hashes are stored.
"""
from __future__ import annotations

import datetime
import re
import secrets
import uuid
import zoneinfo
from typing import Any

from shared import auth, db, errors, queries
from shared.config import ORIGIN, REPOSITORY, settings  # as CORS_ALLOWED_ORIGINS and the tenants table check them

UNCHANGED = object()  # a setting `configure` leaves as it is


def create_tenant(name: str) -> dict[str, Any]:
    name = name.strip()
    if not name or len(name) > 200:
        raise errors.ValidationFailed("A tenant name is 1 to 200 characters.")
    tenant_id = uuid.uuid4()
    intake_key = auth.new_intake_key()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].strip("-") or "tenant"
    with db.transaction(owner=True) as tx:
        tx.set_tenant(tenant_id)
        slug = tx.scalar(queries.INSERT_TENANT, id=tenant_id, id_text=str(tenant_id), name=name,
                         key_hash=auth.key_hash(intake_key), slug=slug)
    return {"id": str(tenant_id), "name": name, "slug": slug, "intake_key": intake_key,
            "intake_email": intake_address(slug)}


def intake_address(slug: str) -> str:
    """Where mail to the tenant becomes feedback (shared/mail_intake.py)."""
    return f"feedback+{slug}@{settings().intake_domain}"


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
    with db.transaction(owner=True) as tx:
        tx.set_tenant(None, staff=True)
        return [_plain(row) for row in tx.records(queries.LIST_KEYS, tenant=str(tenant_id) if tenant_id else None)]


def list_tenants() -> list[dict[str, Any]]:
    with db.transaction(owner=True) as tx:
        tx.set_tenant(None, staff=True)
        return [_shown(row) for row in tx.records(queries.LIST_TENANTS)]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON shows it: ids as text."""
    return {name: str(value) if isinstance(value, uuid.UUID) else value for name, value in row.items()}


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def configure(tenant_id: uuid.UUID, *, github_repository: str | None | object = UNCHANGED,
              anonymous_priority: bool | None = None, allowed_origins: list[str] | None = None,
              alert_high: bool | None = None, time_zone: str | None | object = UNCHANGED) -> dict[str, Any]:
    """Change what is given: where the tenant's GitHub issues go (owner/name; None: the
    deployment's default), whether anonymous callers may ask for high and urgent priority,
    the origins whose pages may use its intake key (the web widget; [] for none of its own),
    whether high items alert its admins as urgent ones do, and the time zone of its
    mornings (None: the deployment's SLA_TIMEZONE)."""
    if isinstance(github_repository, str) and not REPOSITORY.fullmatch(github_repository):
        raise errors.ValidationFailed("A repository is named owner/name.")
    if isinstance(time_zone, str) and time_zone not in zoneinfo.available_timezones():
        raise errors.ValidationFailed(f"{time_zone!r} is no time zone: give an IANA name such as Europe/Berlin.")
    origins = None if allowed_origins is None else [_origin(o) for o in allowed_origins]
    with db.transaction(owner=True) as tx:
        tx.set_tenant(tenant_id)
        row = tx.record(queries.CONFIGURE_TENANT, id=tenant_id, set_repository=github_repository is not UNCHANGED,
                        repository=None if github_repository is UNCHANGED else github_repository,
                        anonymous_priority=anonymous_priority, allowed_origins=origins, alert_high=alert_high,
                        set_time_zone=time_zone is not UNCHANGED,
                        time_zone=None if time_zone is UNCHANGED else time_zone)
    if row is None:
        raise errors.NotFound("No such tenant.")
    return _shown(row)


def _origin(text: str) -> str:
    """An origin as browsers send it: scheme, host and port, lower case, no path."""
    origin = text.strip().rstrip("/").lower()
    if not ORIGIN.fullmatch(origin):
        raise errors.ValidationFailed(
            f"{text!r} is no origin: give the scheme, host and port only, such as https://app.example.com"
            " or http://localhost:* (any port).")
    return origin


def show_tenant(tenant_id: uuid.UUID) -> dict[str, Any]:
    with db.transaction(owner=True) as tx:
        tx.set_tenant(tenant_id)
        row = tx.record(queries.SHOW_TENANT, id=tenant_id)
    if row is None:
        raise errors.NotFound(f"No tenant {tenant_id}.")
    return _shown(row)


def _shown(tenant: dict[str, Any]) -> dict[str, Any]:
    """A tenant's settings as operators see them, its feedback address included."""
    return {**_plain(tenant), "intake_email": intake_address(tenant["slug"])}


def rotate_intake_key(tenant_id: uuid.UUID) -> dict[str, Any]:
    """A new intake key for the tenant; the old one stops working at once."""
    intake_key = auth.new_intake_key()
    with db.transaction(owner=True) as tx:
        tx.set_tenant(tenant_id)
        if tx.one(queries.ROTATE_INTAKE_KEY, id=tenant_id, key_hash=auth.key_hash(intake_key)) is None:
            raise errors.NotFound(f"No tenant {tenant_id}.")
    return {"id": str(tenant_id), "intake_key": intake_key}


def rotate_signing_key(purpose: str) -> dict[str, Any]:
    """A new key signs new links; the ones before it are retired (still honoured for a
    grace period by whoever verifies them)."""
    name = f"{purpose}-{secrets.token_hex(8)}"
    with db.transaction(owner=True) as tx:
        retired = tx.rows(queries.RETIRE_SIGNING_KEYS, prefix=purpose)
        tx.rows(queries.INSERT_SIGNING_KEY, name=name, key=secrets.token_bytes(32))
    return {"key_id": name, "retired": [row[0] for row in retired]}


def find_tenant(name: str) -> uuid.UUID | None:
    with db.transaction(owner=True) as tx:
        return tx.scalar(queries.FIND_TENANT, name=name)


PERSON_ROLES = ("admin", "staff")  # an admin of the person's tenant, or staff across tenants


def add_person(tenant_id: uuid.UUID, email: str, name: str, role: str) -> dict[str, Any]:
    """A team member who signs in to the console by a link mailed to `email`."""
    from pydantic import TypeAdapter, ValidationError

    from shared.models import Email

    if role not in PERSON_ROLES:
        raise errors.ValidationFailed(f"A person's role is one of {', '.join(PERSON_ROLES)}.")
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
    return _plain(row)


def configure_person(email: str, *, alerts: bool | None = None, digest: bool | None = None) -> dict[str, Any]:
    """Which mails a team member gets: alerts about urgent items, the morning digest."""
    with db.transaction(owner=True) as tx:
        tx.set_tenant(None, staff=True)
        row = tx.record(queries.CONFIGURE_PERSON, email=email.strip(), alerts=alerts, digest=digest)
    if row is None:
        raise errors.NotFound(f"No team member has the address {email}.")
    return _plain(row)


def list_people(tenant_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    with db.transaction(owner=True) as tx:
        tx.set_tenant(None, staff=True)
        return [_plain(row) for row in tx.records(queries.LIST_PEOPLE, tenant=str(tenant_id) if tenant_id else None)]
