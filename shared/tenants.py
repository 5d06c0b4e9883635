"""Operators' actions on tenants: making one, its settings, its intake key and address.

Run over the owner's connection; the intake key is returned once, to be shown once, and
only its hash is stored.
"""
from __future__ import annotations

import re
import uuid
import zoneinfo
from typing import Any

from shared import auth, db, errors, operators, queries
from shared.config import ORIGIN, REPOSITORY, settings  # as CORS_ALLOWED_ORIGINS and the tenants table check them

UNCHANGED = object()  # a setting `configure` leaves as it is
STATUS_LINK_DAYS_MAX = 3650  # as the tenants table checks it


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


def list_tenants() -> list[dict[str, Any]]:
    with operators.transaction() as tx:
        return [_shown(row) for row in tx.records(queries.LIST_TENANTS)]


def configure(tenant_id: uuid.UUID, *, github_repository: str | None | object = UNCHANGED,
              anonymous_priority: bool | None = None, allowed_origins: list[str] | None = None,
              alert_high: bool | None = None, time_zone: str | None | object = UNCHANGED,
              status_link_days: int | None | object = UNCHANGED) -> dict[str, Any]:
    """Change what is given: where the tenant's GitHub issues go (owner/name; None: the
    deployment's default), whether anonymous callers may ask for high and urgent priority,
    the origins whose pages may use its intake key (the web widget; [] for none of its own),
    whether high items alert its admins as urgent ones do, the time zone of its
    mornings (None: the deployment's SLA_TIMEZONE), and for how many days its submitters'
    status links work (None: for good)."""
    if isinstance(github_repository, str) and not REPOSITORY.fullmatch(github_repository):
        raise errors.ValidationFailed("A repository is named owner/name.")
    if isinstance(time_zone, str) and time_zone not in zoneinfo.available_timezones():
        raise errors.ValidationFailed(f"{time_zone!r} is no time zone: give an IANA name such as Europe/Berlin.")
    if isinstance(status_link_days, int) and not 1 <= status_link_days <= STATUS_LINK_DAYS_MAX:
        raise errors.ValidationFailed(f"Status links work for 1 to {STATUS_LINK_DAYS_MAX} days, or for good.")
    origins = None if allowed_origins is None else [_origin(o) for o in allowed_origins]
    with db.transaction(owner=True) as tx:
        tx.set_tenant(tenant_id)
        row = tx.record(queries.CONFIGURE_TENANT, id=tenant_id, set_repository=github_repository is not UNCHANGED,
                        repository=None if github_repository is UNCHANGED else github_repository,
                        anonymous_priority=anonymous_priority, allowed_origins=origins, alert_high=alert_high,
                        set_time_zone=time_zone is not UNCHANGED,
                        time_zone=None if time_zone is UNCHANGED else time_zone,
                        set_status_link_days=status_link_days is not UNCHANGED,
                        status_link_days=None if status_link_days is UNCHANGED else status_link_days)
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
    return {**operators.plain(tenant), "intake_email": intake_address(tenant["slug"])}


def rotate_intake_key(tenant_id: uuid.UUID) -> dict[str, Any]:
    """A new intake key for the tenant; the old one stops working at once."""
    intake_key = auth.new_intake_key()
    with db.transaction(owner=True) as tx:
        tx.set_tenant(tenant_id)
        if tx.one(queries.ROTATE_INTAKE_KEY, id=tenant_id, key_hash=auth.key_hash(intake_key)) is None:
            raise errors.NotFound(f"No tenant {tenant_id}.")
    return {"id": str(tenant_id), "intake_key": intake_key}


def find_tenant(name: str) -> uuid.UUID | None:
    with db.transaction(owner=True) as tx:
        return tx.scalar(queries.FIND_TENANT, name=name)
