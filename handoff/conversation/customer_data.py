"""What the service keeps about one customer, and for how long.

A customer is known by the bot's sender id. On request a supervisor can export all
of it (handoffs with their context and messages, ratings) or erase it. Without a
request, transcripts are kept for the retention period only: the sweeper purges
older messages and empties the bot transcript of older handoffs; the handoffs
themselves, without the conversation, stay for the supervisors' numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.errors import InvalidTransition, NotFound
from handoff.queue.states import OPEN_STATES
from handoff.storage.models import (
    Conversation,
    CsatRating,
    Handoff,
    HandoffTransfer,
    HandoffTransition,
    Message,
    ProcessedEvent,
)


@dataclass(frozen=True)
class Purged:
    messages: int
    transcripts: int


class CustomerData:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def export(self, sender_id: str) -> dict[str, Any]:
        """Everything stored about ``sender_id``, as JSON."""
        async with self._sessions() as session:
            handoffs = (
                await session.scalars(
                    select(Handoff)
                    .where(Handoff.sender_id == sender_id)
                    .order_by(Handoff.id)
                )
            ).all()
            messages = (
                await session.scalars(
                    select(Message)
                    .where(Message.handoff_id.in_([h.id for h in handoffs]))
                    .order_by(Message.id)
                )
            ).all()
            ratings = (
                await session.scalars(
                    select(CsatRating)
                    .where(CsatRating.sender_id == sender_id)
                    .order_by(CsatRating.id)
                )
            ).all()
        if not handoffs and not ratings:
            raise NotFound(f"nothing is stored about customer {sender_id[:64]}")
        return {
            "sender_id": sender_id,
            "handoffs": [
                {
                    "id": handoff.id,
                    "channel": handoff.channel,
                    "language": handoff.language,
                    "reason": handoff.reason,
                    "status": handoff.status.value,
                    "created_at": handoff.created_at.isoformat(),
                    "resolved_at": handoff.resolved_at.isoformat()
                    if handoff.resolved_at
                    else None,
                    "context": handoff.context,
                    "messages": [
                        {
                            "role": message.role.value,
                            "text": message.text,
                            "created_at": message.created_at.isoformat(),
                        }
                        for message in messages
                        if message.handoff_id == handoff.id
                    ],
                }
                for handoff in handoffs
            ],
            "ratings": [
                {
                    "handoff_id": rating.handoff_id,
                    "score": rating.score,
                    "comment": rating.comment,
                    "created_at": rating.created_at.isoformat(),
                }
                for rating in ratings
            ],
        }

    async def erase(self, sender_id: str) -> dict[str, int]:
        """Deletes everything stored about ``sender_id``; how many of each went.
        Erasing a customer twice, or one never seen, erases nothing and is no
        error: the request is met either way."""
        async with self._sessions.begin() as session:
            handoffs = (
                await session.execute(
                    select(Handoff.id, Handoff.status).where(
                        Handoff.sender_id == sender_id
                    )
                )
            ).all()
            if any(status in OPEN_STATES for _, status in handoffs):
                # Erasing now would pull the conversation from under its agent.
                raise InvalidTransition(
                    "the customer has an open handoff; close it before erasing"
                )
            ids = [handoff_id for handoff_id, _ in handoffs]
            counts = {
                "messages": await _delete(session, Message.handoff_id, ids),
                "ratings": await _delete(session, CsatRating.sender_id, [sender_id]),
            }
            await _delete(session, HandoffTransfer.handoff_id, ids)
            await _delete(session, HandoffTransition.handoff_id, ids)
            await _delete(session, ProcessedEvent.sender_id, [sender_id])
            await _delete(session, Conversation.sender_id, [sender_id])
            counts["handoffs"] = await _delete(session, Handoff.id, ids)
        return counts

    async def purge_transcripts(self, before: datetime) -> Purged:
        """Deletes the messages stored before ``before`` and empties the bot
        transcript of the handoffs opened before it."""
        async with self._sessions.begin() as session:
            messages = cast(
                CursorResult[Any],
                await session.execute(
                    delete(Message).where(Message.created_at < before)
                ),
            ).rowcount
            # transcript_until is set while a handoff still holds a transcript.
            old = (
                await session.execute(
                    select(Handoff.id, Handoff.context).where(
                        Handoff.created_at < before,
                        Handoff.transcript_until.is_not(None),
                    )
                )
            ).all()
            for handoff_id, context in old:
                await session.execute(
                    update(Handoff)
                    .where(Handoff.id == handoff_id)
                    .values(
                        context={**context, "transcript": []}, transcript_until=None
                    )
                    .execution_options(synchronize_session=False)
                )
        return Purged(messages=messages, transcripts=len(old))


async def _delete(session: AsyncSession, column: Any, values: list[Any]) -> int:
    if not values:
        return 0
    result = await session.execute(
        delete(column.class_)
        .where(column.in_(values))
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount
