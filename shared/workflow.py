"""The status workflow as the guide draws it.

NEW -> ACKNOWLEDGED -> IN_REVIEW -> PLANNED -> IN_PROGRESS -> COMPLETED, moving
forward (a step may be skipped, never retraced), and DECLINED or DUPLICATE from
any open state. Completed, declined and duplicate items are closed.
"""
from __future__ import annotations

from shared import errors

FORWARD = ("new", "acknowledged", "in_review", "planned", "in_progress", "completed")
CLOSED = frozenset({"completed", "declined", "duplicate"})


def next_states(status: str) -> list[str]:
    """Where an item in `status` may go."""
    if status in CLOSED:
        return []
    later = list(FORWARD[FORWARD.index(status) + 1 :])
    return later + ["declined", "duplicate"]


def check_transition(status: str, target: str) -> None:
    allowed = next_states(status)
    if target not in allowed:
        raise errors.Conflict(
            f"An item that is {status} cannot become {target}.", current=status, allowed=allowed
        )
