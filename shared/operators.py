"""What the operator's modules (tenants, api_keys, team, signing_keys) share: a transaction
over the owner's connection that sees every tenant, and rows shown as JSON shows them.

Writes still pass row-level security: each sets the tenant it writes for.
"""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from shared import db
from shared.db import Tx


@contextlib.contextmanager
def transaction() -> Iterator[Tx]:
    """A transaction across tenants, as staff, for manage.py's commands."""
    with db.transaction(owner=True) as tx:
        tx.set_tenant(None, staff=True)
        yield tx


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON shows it: ids as text."""
    return {name: str(value) if isinstance(value, uuid.UUID) else value for name, value in row.items()}
