"""Auto-assignment: each queued handoff to the least-loaded online agent with the
handoff's skill and a free chat slot, as soon as one exists.

Every assignment is its own short transaction. On PostgreSQL the handoff is
picked with ``FOR NO KEY UPDATE SKIP LOCKED``, so concurrent dispatchers (several
service instances) each take a different handoff instead of queueing behind
one another, and the agent row is locked while its load is counted, so two
dispatchers cannot both fill the agent's last slot. Agent rows are locked
with ``SKIP LOCKED`` too: a dispatcher never waits for a lock while holding
one, so dispatchers that see the agents in different orders (their load
snapshots differ) cannot deadlock. One that finds every suitable agent
locked by another dispatcher tries again in a new transaction. The
assignment itself is the state machine's guarded move from ``queued``, so even
a manual claim racing with it leaves exactly one owner. SQLite has no row locks, but
it runs one writing transaction at a time, which gives the same guarantees.
"""

from __future__ import annotations

import asyncio
import enum
import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from handoff.conversation.takeover_notices import (
    Takeover,
    TakeoverNotice,
    TakeoverNotices,
)
from handoff.observability.metrics import ServiceMetrics
from handoff.queue.order import QUEUE_ORDER
from handoff.queue.state_machine import DISPATCHER, Changes, Transitions
from handoff.queue.states import HandoffStatus
from handoff.realtime.live_feed import LiveFeed
from handoff.storage.models import Agent, AgentSkill, Handoff, utcnow
from handoff.vocabulary import AgentStatus, Skill, TransitionReason

# One dispatch run stops after this many assignments so a huge backlog cannot
# hold a request; the sweeper's next run carries on.
MAX_ASSIGNMENTS_PER_RUN = 200
# How often one run tries again when other dispatchers hold every suitable
# agent, and the longest pause between tries, in seconds.
MAX_CONTENDED_TRIES = 100
MAX_CONTENDED_PAUSE = 0.02


class Slot(enum.Enum):
    """What trying one agent for one handoff came to, when not an assignment."""

    TAKEN = "taken"
    LOCKED = "locked"


@dataclass(frozen=True)
class Assignment:
    handoff: Handoff
    agent_name: str


@dataclass(frozen=True)
class FreeAgent:
    agent_id: int
    load: int
    skills: frozenset[Skill]


def load_of(agent_id: Any) -> ColumnElement[int]:
    """The number of live conversations assigned to an agent."""
    return (
        select(func.count())
        .where(
            Handoff.assigned_agent_id == agent_id,
            Handoff.status == HandoffStatus.ASSIGNED,
        )
        .scalar_subquery()
    )


async def free_agents(session: AsyncSession) -> list[FreeAgent]:
    """Online, active agents below their capacity, least loaded first."""
    load = load_of(Agent.id)
    rows = (
        await session.execute(
            select(Agent.id, load)
            .where(
                Agent.status == AgentStatus.ONLINE,
                Agent.active,
                load < Agent.capacity,
            )
            .order_by(load, Agent.id)
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
        FreeAgent(agent_id, load, frozenset(skills[agent_id]))
        for agent_id, load in rows
        if skills[agent_id]
    ]


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        feed: LiveFeed,
        metrics: ServiceMetrics,
        notices: TakeoverNotices,
    ) -> None:
        self._transitions = Transitions(sessions, feed, metrics)
        self._notices = notices

    async def dispatch(self) -> list[Handoff]:
        """Assign queued handoffs while someone can take them; return them.

        Each customer is told who joined once the assignment has committed.
        """
        assigned: list[Handoff] = []
        contended = 0
        while len(assigned) < MAX_ASSIGNMENTS_PER_RUN:
            assignment = await self._assign_one()
            if assignment is Slot.LOCKED:
                contended += 1
                if contended >= MAX_CONTENDED_TRIES:
                    break
                await asyncio.sleep(
                    random.uniform(
                        0, MAX_CONTENDED_PAUSE * contended / MAX_CONTENDED_TRIES
                    )
                )
                continue
            if assignment is None:
                break
            handoff = assignment.handoff
            self._notices.tell(
                TakeoverNotice(
                    handoff.id,
                    handoff.sender_id,
                    handoff.language,
                    Takeover.JOINED,
                    agent_name=assignment.agent_name,
                )
            )
            assigned.append(handoff)
        return assigned

    async def _assign_one(self) -> Assignment | Literal[Slot.LOCKED] | None:
        """The assignment made, ``Slot.LOCKED`` when other dispatchers held every
        suitable agent, or None when there is nothing to assign."""
        async for attempt in self._transitions.attempts():
            async with attempt as changes:
                session = changes.session
                candidates = await free_agents(session)
                skills = {skill for agent in candidates for skill in agent.skills}
                if not skills:
                    return None
                handoff = await session.scalar(
                    select(Handoff)
                    .where(
                        Handoff.status == HandoffStatus.QUEUED,
                        Handoff.skill.in_(skills),
                    )
                    .order_by(*QUEUE_ORDER)
                    .limit(1)
                    .with_for_update(skip_locked=True, key_share=True)
                )
                if handoff is None:
                    return None
                locked_out = False
                for candidate in candidates:
                    if handoff.skill not in candidate.skills:
                        continue
                    slot = await _assign_if_free(changes, handoff, candidate.agent_id)
                    if isinstance(slot, Assignment):
                        return slot
                    locked_out = locked_out or slot is Slot.LOCKED
        return Slot.LOCKED if locked_out else None


async def _assign_if_free(
    changes: Changes, handoff: Handoff, agent_id: int
) -> Assignment | Slot:
    session = changes.session
    # The agent's row lock makes counting the load and taking a slot one step.
    agent_row = await session.execute(
        select(Agent.id, Agent.status, Agent.active, Agent.capacity, Agent.display_name)
        .where(Agent.id == agent_id)
        .with_for_update(skip_locked=True, key_share=True)
    )
    agent = agent_row.one_or_none()
    if agent is None:
        return Slot.LOCKED
    if agent.status is not AgentStatus.ONLINE or not agent.active:
        return Slot.TAKEN
    load = await session.scalar(select(load_of(agent_id)))
    if (load or 0) >= agent.capacity:
        return Slot.TAKEN
    now = utcnow()
    assigned = await changes.move(
        handoff.id,
        HandoffStatus.ASSIGNED,
        by=DISPATCHER,
        reason=TransitionReason.AUTO_ASSIGNED,
        values={
            "assigned_agent_id": agent_id,
            "assigned_at": now,
            "awaiting_agent_since": now,
            "flagged_at": None,
        },
    )
    if assigned is None:
        return Slot.TAKEN
    return Assignment(assigned, agent.display_name)
