"""What the service keeps about one customer, and for how long.

A customer is known by the bot's sender id. On request a supervisor can export all
of it (handoffs with their context and messages, ratings, the files of the
conversation with a link to each) or erase it. Without a request, transcripts are
kept for the retention period only: the sweeper purges older messages, empties the
bot transcript of older handoffs and erases older files; the handoffs themselves,
without the conversation, stay for the supervisors' numbers. An erased file keeps
its row (its size and type, for the numbers) but neither its content nor its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.conversation.file_links import FileLinks
from handoff.errors import InvalidTransition, NotFound
from handoff.queue.states import OPEN_STATES
from handoff.storage.models import (
    ATTACHMENT_METADATA,
    Attachment,
    Conversation,
    CsatRating,
    Handoff,
    HandoffTransfer,
    HandoffTransition,
    Message,
    ProcessedEvent,
    utcnow,
)


@dataclass(frozen=True)
class Purged:
    messages: int
    transcripts: int
    attachments: int = 0


class CustomerData:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], links: FileLinks
    ) -> None:
        self._sessions = sessions
        self._links = links

    async def export(self, sender_id: str) -> dict[str, Any]:
        """Everything stored about ``sender_id``, as JSON."""
        now = utcnow()
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
            attachments = [
                Attachment(**row._mapping)
                for row in await session.execute(
                    select(*ATTACHMENT_METADATA)
                    .where(
                        Attachment.sender_id == sender_id,
                        Attachment.erased_at.is_(None),
                    )
                    .order_by(Attachment.created_at, Attachment.id)
                )
            ]
        if not handoffs and not ratings and not attachments:
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
            "attachments": [
                {
                    "id": attachment.id,
                    "handoff_id": attachment.handoff_id,
                    "uploaded_by": attachment.uploaded_by.value,
                    "media_type": attachment.media_type,
                    "filename": attachment.filename,
                    "size_bytes": attachment.size_bytes,
                    "sha256": attachment.sha256,
                    "created_at": attachment.created_at.isoformat(),
                    # What the customer can open without an account.
                    "url": self._links.customer_url(attachment.id, now),
                }
                for attachment in attachments
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
                "attachments": await _erase_files(
                    session, Attachment.sender_id == sender_id
                ),
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
            attachments = await _erase_files(session, Attachment.created_at < before)
        return Purged(messages=messages, transcripts=len(old), attachments=attachments)


async def _erase_files(session: AsyncSession, which: ColumnElement[bool]) -> int:
    """Erases the content and name of the files ``which`` selects; how many."""
    result = await session.execute(
        update(Attachment)
        .where(which, Attachment.erased_at.is_(None))
        .values(content=None, filename="", handoff_id=None, erased_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount


async def _delete(session: AsyncSession, column: Any, values: list[Any]) -> int:
    if not values:
        return 0
    result = await session.execute(
        delete(column.class_)
        .where(column.in_(values))
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount
