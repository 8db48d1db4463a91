"""The queue and the team as the wait estimate sees them, read from the database.

Six queries whatever the queue's length: the queued handoffs in the
dispatcher's order, the online agents with their skills and the conversations
they hold, the latest handle times of each skill, the recent arrivals, and the
recent customers who gave up waiting. The sweeper reads one snapshot a sweep
for every waiting customer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.queue.order import QUEUE_ORDER
from handoff.queue.states import HandoffStatus
from handoff.queue.wait_estimate import OnlineAgent, QueueSnapshot, WaitingHandoff
from handoff.storage.models import Agent, AgentSkill, Handoff
from handoff.vocabulary import AgentStatus, HandoffMode, Priority, Skill

# Handle times: each skill's latest handoffs resolved within a day. Many, so
# that a run of long chats does not make a long queue look longer still
# (make bench-wait compared 50 and 200).
SAMPLE_SIZE = 200
RECENT_HANDLING = timedelta(hours=24)
# Arrivals and customers giving up: the rates of this last stretch of time.
RECENT_ARRIVALS = timedelta(minutes=30)


async def read_queue_snapshot(session: AsyncSession, now: datetime) -> QueueSnapshot:
    return QueueSnapshot(
        waiting=await _waiting(session),
        agents=await _online_agents(session),
        handle_seconds=await _handle_seconds(session, now),
        arrivals_per_second=await _arrivals_per_second(session, now),
        give_ups_per_waiting_second=await _give_ups_per_waiting_second(session, now),
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
            select(Agent.id, Agent.capacity).where(
                Agent.status == AgentStatus.ONLINE, Agent.active
            )
        )
    ).all()
    agent_ids = [agent_id for agent_id, _ in rows]
    skills: dict[int, set[Skill]] = defaultdict(set)
    for agent_id, skill in await session.execute(
        select(AgentSkill.agent_id, AgentSkill.skill).where(
            AgentSkill.agent_id.in_(agent_ids)
        )
    ):
        skills[agent_id].add(skill)
    serving: dict[int, Counter[Skill]] = defaultdict(Counter)
    for holder, skill, count in await session.execute(
        select(Handoff.assigned_agent_id, Handoff.skill, func.count())
        .where(
            Handoff.status == HandoffStatus.ASSIGNED,
            Handoff.assigned_agent_id.in_(agent_ids),
        )
        .group_by(Handoff.assigned_agent_id, Handoff.skill)
    ):
        if holder is not None:
            serving[holder][Skill(skill)] = count
    return [
        OnlineAgent(frozenset(skills[agent_id]), capacity, serving[agent_id])
        for agent_id, capacity in rows
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


async def _give_ups_per_waiting_second(session: AsyncSession, now: datetime) -> float:
    """Customers who left the queue without an agent in the recent stretch, per
    second that queued customers waited in it (the rate of an exponential
    patience, by maximum likelihood)."""
    since = now - RECENT_ARRIVALS
    left_queue = func.coalesce(Handoff.assigned_at, Handoff.resolved_at)
    rows = await session.execute(
        select(
            Handoff.created_at,
            Handoff.assigned_at,
            Handoff.resolved_at,
            Handoff.status,
        ).where(
            Handoff.mode == HandoffMode.QUEUE,
            or_(Handoff.status == HandoffStatus.QUEUED, left_queue > since),
        )
    )
    waited = 0.0
    gave_up = 0
    for created_at, assigned_at, resolved_at, status in rows:
        left = now if status is HandoffStatus.QUEUED else assigned_at or resolved_at
        if left is None:
            continue
        waited += max(0.0, (min(left, now) - max(created_at, since)).total_seconds())
        gave_up += status is HandoffStatus.ABANDONED and assigned_at is None
    return gave_up / waited if waited > 0 else 0.0
