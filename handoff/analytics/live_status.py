"""The queue and the team right now, for the supervisor's live panel."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.queue.states import HandoffStatus
from handoff.storage.models import Agent, DeadLetter, Handoff, utcnow


@dataclass(frozen=True)
class AgentLoad:
    agent: Agent
    open_handoffs: int


@dataclass(frozen=True)
class LiveStatus:
    now: datetime
    queued: int
    assigned: int
    oldest_queued_at: datetime | None
    queued_by_skill: Counter[str]
    agents: list[AgentLoad]
    # Events from the bot kept aside as dead letters, all time.
    dead_letters: int

    @property
    def longest_wait_seconds(self) -> float | None:
        if self.oldest_queued_at is None:
            return None
        return max(0.0, (self.now - self.oldest_queued_at).total_seconds())


async def live_status(sessions: async_sessionmaker[AsyncSession]) -> LiveStatus:
    async with sessions() as session:
        now = utcnow()
        queued_by_skill = await _queued_by_skill(session)
        oldest_queued_at = await session.scalar(
            select(func.min(Handoff.created_at)).where(
                Handoff.status == HandoffStatus.QUEUED
            )
        )
        loads: dict[int | None, int] = {
            agent_id: count
            for agent_id, count in await session.execute(
                select(Handoff.assigned_agent_id, func.count())
                .where(
                    Handoff.status == HandoffStatus.ASSIGNED,
                    Handoff.assigned_agent_id.is_not(None),
                )
                .group_by(Handoff.assigned_agent_id)
            )
        }
        agents = (
            await session.scalars(
                select(Agent).where(Agent.active.is_(True)).order_by(Agent.username)
            )
        ).all()
        dead_letters = await session.scalar(
            select(func.count()).select_from(DeadLetter)
        )
    return LiveStatus(
        now=now,
        queued=sum(queued_by_skill.values()),
        assigned=sum(loads.values()),
        oldest_queued_at=oldest_queued_at,
        queued_by_skill=queued_by_skill,
        agents=[AgentLoad(agent, loads.get(agent.id, 0)) for agent in agents],
        dead_letters=dead_letters or 0,
    )


async def _queued_by_skill(session: AsyncSession) -> Counter[str]:
    rows = await session.execute(
        select(Handoff.skill, func.count())
        .where(Handoff.status == HandoffStatus.QUEUED)
        .group_by(Handoff.skill)
    )
    return Counter({skill.value: count for skill, count in rows})
