"""Expected wait in a skill queue, from the handling rate observed recently.

    wait = position × median handle time ÷ chat slots online

The median handle time (assigned to resolved) is taken over the skill's last
``SAMPLE_SIZE`` handoffs resolved within ``RECENT``; the chat slots are the
summed capacity of the online agents with the skill. Together they are the
rate at which the queue moves: ``slots ÷ median`` conversations a second.
There is no estimate without history or without an online agent.
"""

from __future__ import annotations

import math
import statistics
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.queue.states import HandoffStatus
from handoff.storage.models import Agent, AgentSkill, Handoff
from handoff.vocabulary import AgentStatus, Skill

SAMPLE_SIZE = 50
RECENT = timedelta(hours=24)


async def median_handle_seconds(
    session: AsyncSession, skill: Skill, now: datetime
) -> float | None:
    rows = await session.execute(
        select(Handoff.assigned_at, Handoff.resolved_at)
        .where(
            Handoff.status == HandoffStatus.RESOLVED,
            Handoff.skill == skill,
            Handoff.assigned_at.is_not(None),
            Handoff.resolved_at > now - RECENT,
        )
        .order_by(Handoff.resolved_at.desc())
        .limit(SAMPLE_SIZE)
    )
    durations = [
        (resolved_at - assigned_at).total_seconds()
        for assigned_at, resolved_at in rows
        if assigned_at is not None and resolved_at is not None
    ]
    return statistics.median(durations) if durations else None


async def online_slots(session: AsyncSession, skill: Skill) -> int:
    slots = await session.scalar(
        select(func.coalesce(func.sum(Agent.capacity), 0))
        .join(AgentSkill, AgentSkill.agent_id == Agent.id)
        .where(
            AgentSkill.skill == skill,
            Agent.status == AgentStatus.ONLINE,
            Agent.active,
        )
    )
    return int(slots or 0)


async def estimated_wait_seconds(
    session: AsyncSession, skill: Skill, position: int, now: datetime
) -> int | None:
    median = await median_handle_seconds(session, skill, now)
    if median is None:
        return None
    slots = await online_slots(session, skill)
    if slots == 0:
        return None
    return math.ceil(position * median / slots)
