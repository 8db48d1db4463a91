"""The states of a handoff and the only transitions allowed between them.

Only the table: ``handoff.queue.state_machine`` is what moves handoffs along it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from handoff.errors import InvalidTransition


class HandoffStatus(str, enum.Enum):
    # A handoff starts queued, or offline when nobody works the queue.
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    ABANDONED = "abandoned"
    OFFLINE = "offline"


ALLOWED_TRANSITIONS: Mapping[HandoffStatus, frozenset[HandoffStatus]] = {
    HandoffStatus.QUEUED: frozenset({HandoffStatus.ASSIGNED, HandoffStatus.ABANDONED}),
    # Back to the queue when an agent releases or transfers the conversation.
    HandoffStatus.ASSIGNED: frozenset({HandoffStatus.RESOLVED, HandoffStatus.QUEUED}),
    # Out of hours nobody works the queue: the callback or ticket is resolved later.
    HandoffStatus.OFFLINE: frozenset({HandoffStatus.RESOLVED}),
    HandoffStatus.RESOLVED: frozenset(),
    HandoffStatus.ABANDONED: frozenset(),
}

OPEN_STATES = frozenset({HandoffStatus.QUEUED, HandoffStatus.ASSIGNED})
FINAL_STATES = frozenset(
    state for state, targets in ALLOWED_TRANSITIONS.items() if not targets
)


def is_allowed(current: HandoffStatus, target: HandoffStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


def ensure_allowed(current: HandoffStatus, target: HandoffStatus) -> None:
    if not is_allowed(current, target):
        raise InvalidTransition(
            f"a {current.value} handoff cannot become {target.value}",
            handoff_status=current.value,
        )


def sources_of(target: HandoffStatus) -> frozenset[HandoffStatus]:
    """The states a guarded update may move from to reach ``target``."""
    return frozenset(
        source for source, targets in ALLOWED_TRANSITIONS.items() if target in targets
    )
