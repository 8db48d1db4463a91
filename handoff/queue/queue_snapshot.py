"""The queue and the team as the wait estimate sees them, read from the database.

Four queries whatever the queue's length: the queued handoffs in the
dispatcher's order, the online agents with their load, the latest handle times
of each skill and the recent arrivals. The sweeper reads one snapshot a sweep
for every waiting customer.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.queue.assignment import load_of
from handoff.queue.order import QUEUE_ORDER
from handoff.queue.states import HandoffStatus
from handoff.queue.wait_estimate import OnlineAgent, QueueSnapshot, WaitingHandoff
from handoff.storage.models import Agent, AgentSkill, Handoff
from handoff.vocabulary import AgentStatus, HandoffMode, Priority, Skill

# Handle times: each skill's latest handoffs resolved within a day.
SAMPLE_SIZE = 50
RECENT_HANDLING = timedelta(hours=24)
# Arrivals: the rate of the last hour.
RECENT_ARRIVALS = timedelta(hours=1)


async def read_queue_snapshot(session: AsyncSession, now: datetime) -> QueueSnapshot:
    return QueueSnapshot(
        waiting=await _waiting(session),
        agents=await _online_agents(session),
        handle_seconds=await _handle_seconds(session, now),
        arrivals_per_second=await _arrivals_per_second(session, now),
    )


async def _waiting(session: AsyncSession) -> list[WaitingHandoff]:
    rows = await session.execute(
        select(Handoff.id, Handoff.skill, Handoff.priority)
        .where(Handoff.status == HandoffStatus.QUEUED)
        .order_by(*QUEUE_ORDER)
    )
    return [WaitingHandoff(*row) for row in rows]


async def _online_agents(session: AsyncSession) -> list[OnlineAgent]:
    rows = (
        await session.execute(
            select(Agent.id, Agent.capacity, load_of(Agent.id)).where(
                Agent.status == AgentStatus.ONLINE, Agent.active
            )
        )
    ).all()
    skills: dict[int, set[Skill]] = defaultdict(set)
    for agent_id, skill in await session.execute(
        select(AgentSkill.agent_id, AgentSkill.skill).where(
            AgentSkill.agent_id.in_([row[0] for row in rows])
        )
    ):
        skills[agent_id].add(skill)
    return [
        OnlineAgent(frozenset(skills[agent_id]), capacity, load or 0)
        for agent_id, capacity, load in rows
        if skills[agent_id]
    ]


async def _handle_seconds(
    session: AsyncSession, now: datetime
) -> dict[Skill, list[float]]:
    latest_first = (
        func.row_number()
        .over(partition_by=Handoff.skill, order_by=Handoff.resolved_at.desc())
        .label("latest_first")
    )
    recent = (
        select(Handoff.skill, Handoff.assigned_at, Handoff.resolved_at, latest_first)
        .where(
            Handoff.status == HandoffStatus.RESOLVED,
            Handoff.assigned_at.is_not(None),
            Handoff.resolved_at > now - RECENT_HANDLING,
        )
        .subquery()
    )
    durations: dict[Skill, list[float]] = defaultdict(list)
    for skill, assigned_at, resolved_at in await session.execute(
        select(recent.c.skill, recent.c.assigned_at, recent.c.resolved_at).where(
            recent.c.latest_first <= SAMPLE_SIZE
        )
    ):
        durations[Skill(skill)].append(
            max(0.0, (resolved_at - assigned_at).total_seconds())
        )
    return dict(durations)


async def _arrivals_per_second(
    session: AsyncSession, now: datetime
) -> dict[tuple[Skill, Priority], float]:
    rows = await session.execute(
        select(Handoff.skill, Handoff.priority, func.count())
        .where(
            Handoff.mode == HandoffMode.QUEUE,
            Handoff.created_at > now - RECENT_ARRIVALS,
        )
        .group_by(Handoff.skill, Handoff.priority)
    )
    seconds = RECENT_ARRIVALS.total_seconds()
    return {
        (Skill(skill), Priority(priority)): count / seconds
        for skill, priority, count in rows
    }
