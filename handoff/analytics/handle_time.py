"""Handle time split by who held the handoff.

``handoff_transitions`` records every step of a handoff with its owner after
the step (a transfer between agents, too). A step to ``assigned`` with an
owner starts that agent's hold; the next step of the handoff, whatever it is
(a transfer to a colleague, a release to a queue, the close), ends it. So a
transferred conversation's handle time is the sum of its holds, and each
agent is credited with their own; time spent back in a queue is nobody's.

The holds are paired in SQL with ``LEAD`` over each handoff's steps in order,
which SQLite (3.25 and later) and PostgreSQL both run; their lengths are
computed here, the same on both.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.queue.states import HandoffStatus
from handoff.storage.models import Handoff, HandoffTransition, UTCDateTime
from handoff.vocabulary import HandoffMode


@dataclass(frozen=True)
class Hold:
    """One agent's uninterrupted ownership of a handoff."""

    agent_id: int
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


def held_seconds(holds: Collection[Hold]) -> dict[int, float]:
    """Seconds per agent over ``holds`` (an agent may hold a handoff twice)."""
    totals: dict[int, list[float]] = defaultdict(list)
    for hold in holds:
        totals[hold.agent_id].append(hold.seconds)
    return {agent_id: math.fsum(seconds) for agent_id, seconds in totals.items()}


async def resolved_holds(
    session: AsyncSession, start: datetime, end: datetime
) -> Mapping[int, list[Hold]]:
    """The holds of the queued handoffs created in [start, end) and resolved
    since, by handoff, in order; handoffs without a recorded hold are left out."""
    next_step = (
        func.lead(HandoffTransition.created_at, type_=UTCDateTime())
        .over(
            partition_by=HandoffTransition.handoff_id,
            order_by=(HandoffTransition.created_at, HandoffTransition.id),
        )
        .label("ended_at")
    )
    steps = (
        select(
            HandoffTransition.handoff_id,
            HandoffTransition.to_status,
            HandoffTransition.assigned_agent_id,
            HandoffTransition.created_at.label("started_at"),
            next_step,
        )
        .join(Handoff, Handoff.id == HandoffTransition.handoff_id)
        .where(
            Handoff.created_at >= start,
            Handoff.created_at < end,
            Handoff.mode == HandoffMode.QUEUE,
            Handoff.status == HandoffStatus.RESOLVED,
        )
        .subquery()
    )
    rows = await session.execute(
        select(
            steps.c.handoff_id,
            steps.c.assigned_agent_id,
            steps.c.started_at,
            steps.c.ended_at,
        )
        .where(
            steps.c.to_status == HandoffStatus.ASSIGNED,
            steps.c.assigned_agent_id.is_not(None),
            steps.c.ended_at.is_not(None),
        )
        .order_by(steps.c.handoff_id, steps.c.started_at)
    )
    holds: dict[int, list[Hold]] = defaultdict(list)
    for row in rows:
        holds[row.handoff_id].append(
            Hold(row.assigned_agent_id, row.started_at, row.ended_at)
        )
    return holds
