"""Agents' replies that a platform accepted and failed to deliver later.

Twilio takes a message and reports seconds or minutes later, in a status callback,
that it was ``undelivered`` or ``failed`` (outside WhatsApp's window, an unreachable
or blocked number); Kakao's Event API tells a blocked customer only in its task's
result. The bot reports each such failure (``POST /api/rasa/deliveries``): the
reply becomes ``failed`` with its reason, as a synchronous failure would, so the
console shows it on the message (the frame replaces the one it has) and the numbers
count it. A report repeated, or about a reply already failed, changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.api.presenters import message_frame
from handoff.errors import NotFound
from handoff.realtime.live_feed import LiveFeed
from handoff.staff import permissions
from handoff.storage.models import (
    ATTACHMENT_METADATA,
    ATTACHMENTS,
    MESSAGES,
    Agent,
    Attachment,
    Delivery,
    Handoff,
    Message,
    MessageRole,
)
from handoff.vocabulary import DeliveryFailureReason

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LateFailure:
    message_id: int
    reason: DeliveryFailureReason
    permanent: bool
    # The platform's words (an error code), for the log only.
    detail: str = ""


@dataclass(frozen=True)
class RecordedFailure:
    message: Message
    # False when the reply was failed already: nothing changed, nothing published.
    changed: bool


class LateDeliveries:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], feed: LiveFeed
    ) -> None:
        self._sessions = sessions
        self._feed = feed

    async def record(self, failure: LateFailure) -> RecordedFailure:
        async with self._sessions.begin() as session:
            handoff = await _handoff_of_reply(session, failure.message_id)
            row = (
                await session.execute(
                    update(MESSAGES)
                    .where(
                        MESSAGES.c.id == failure.message_id,
                        # Pending or delivered; a failed reply keeps its reason.
                        MESSAGES.c.delivery != Delivery.FAILED,
                    )
                    .values(
                        delivery=Delivery.FAILED,
                        failure_reason=failure.reason,
                        failure_permanent=failure.permanent,
                    )
                    .returning(*MESSAGES.c)
                )
            ).first()
            changed = row is not None
            if row is None:
                row = (
                    await session.execute(
                        select(MESSAGES).where(MESSAGES.c.id == failure.message_id)
                    )
                ).one()
            message = Message(**row._mapping)
            agent = (
                None
                if message.agent_id is None
                else await session.get(Agent, message.agent_id)
            )
            attachment = await _attachment(session, message.attachment_id)
        if changed:
            logger.info(
                "agent reply %s not delivered: %s (%s)",
                message.id,
                failure.reason.value,
                failure.detail or "no detail",
            )
            await self._feed.publish(
                message_frame(
                    message, agent.display_name if agent else None, attachment
                ),
                permissions.audience_for(handoff),
            )
        return RecordedFailure(message, changed)


async def _handoff_of_reply(session: AsyncSession, message_id: int) -> Handoff:
    found = (
        await session.execute(
            select(Handoff)
            .join(Message, Message.handoff_id == Handoff.id)
            .where(Message.id == message_id, Message.role == MessageRole.AGENT)
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"agent message {message_id} not found")
    return found


async def _attachment(
    session: AsyncSession, attachment_id: str | None
) -> Attachment | None:
    if attachment_id is None:
        return None
    row = (
        await session.execute(
            select(*ATTACHMENT_METADATA).where(
                ATTACHMENTS.c.id == attachment_id, ATTACHMENTS.c.erased_at.is_(None)
            )
        )
    ).first()
    return None if row is None else Attachment(**row._mapping)
