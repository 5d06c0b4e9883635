"""The status workflow as the guide draws it.

NEW -> ACKNOWLEDGED -> IN_REVIEW -> PLANNED -> IN_PROGRESS -> COMPLETED, moving
forward (a step may be skipped, never retraced), and DECLINED or DUPLICATE from
any open state. Completed, declined and duplicate items are closed.
"""
from __future__ import annotations

from shared import errors
from shared.choices import STATUSES

# The ways out of the workflow, open from any open state; the other statuses are its steps, in order.
EXITS = ("declined", "duplicate")
FORWARD = tuple(s for s in STATUSES if s not in EXITS)
CLOSED = frozenset({FORWARD[-1], *EXITS})


def next_states(status: str) -> list[str]:
    """Where an item in `status` may go."""
    if status in CLOSED:
        return []
    later = list(FORWARD[FORWARD.index(status) + 1 :])
    return later + list(EXITS)


def check_transition(status: str, target: str) -> None:
    allowed = next_states(status)
    if target not in allowed:
        raise errors.Conflict(
            f"An item that is {status} cannot become {target}.", current=status, allowed=allowed
        )
