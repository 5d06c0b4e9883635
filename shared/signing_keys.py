"""The operator's rotation of the keys links are signed with (shared/signing.py signs and
verifies with them), run over the owner's connection."""
from __future__ import annotations

import secrets
from typing import Any

from shared import db, queries


def rotate(purpose: str) -> dict[str, Any]:
    """A new key signs new links; the ones before it are retired (still honoured for a
    grace period by whoever verifies them)."""
    name = f"{purpose}-{secrets.token_hex(8)}"
    with db.transaction(owner=True) as tx:
        retired = tx.rows(queries.RETIRE_SIGNING_KEYS, prefix=purpose)
        tx.rows(queries.INSERT_SIGNING_KEY, name=name, key=secrets.token_bytes(32))
    return {"key_id": name, "retired": [row[0] for row in retired]}
