"""The order of a skill queue: priority first, then first come, first served."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from handoff.queue.states import HandoffStatus
from handoff.storage.models import Handoff
from handoff.vocabulary import PRIORITY_RANK, Skill

PRIORITY_ORDER: ColumnElement[Any] = case(
    {priority.value: rank for priority, rank in PRIORITY_RANK.items()},
    value=Handoff.priority,
)
QUEUE_ORDER = (PRIORITY_ORDER, Handoff.created_at, Handoff.id)


async def queue_positions(
    session: AsyncSession, skill: Skill | None = None
) -> dict[int, int]:
    """Position of every queued handoff (of one skill) in its skill's queue."""
    query = select(Handoff.id, Handoff.skill).where(
        Handoff.status == HandoffStatus.QUEUED
    )
    if skill is not None:
        query = query.where(Handoff.skill == skill)
    positions: dict[int, int] = {}
    last_position: dict[Skill, int] = {}
    for handoff_id, handoff_skill in await session.execute(
        query.order_by(*QUEUE_ORDER)
    ):
        last_position[handoff_skill] = last_position.get(handoff_skill, 0) + 1
        positions[handoff_id] = last_position[handoff_skill]
    return positions


async def queue_position(session: AsyncSession, handoff: Handoff) -> int | None:
    if handoff.status is not HandoffStatus.QUEUED:
        return None
    return (await queue_positions(session, handoff.skill)).get(handoff.id)
