"""Ingestion of Rasa's event stream into the conversations of open handoffs.

The broker that forwards events retries after failures, so the same event may
arrive more than once; each is recorded in ``processed_events`` and stored once.
A customer's message also keeps the handoff's timers (silence in the queue,
waiting for an agent's reply), and a cancel phrase written while queued takes
the customer out of the queue and gives the conversation back to the bot.
"""

from __future__ import annotations

import enum
import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff import state_machine
from handoff.customer_notices import is_cancel_phrase
from handoff.db import insert_ignoring_conflicts
from handoff.errors import RasaUnavailable
from handoff.live_feed import LiveFeed
from handoff.models import (
    Delivery,
    Handoff,
    Message,
    MessageRole,
    ProcessedEvent,
    utcnow,
)
from handoff.permissions import audience_for
from handoff.presenters import handoff_frame, message_frame
from handoff.rasa_client import HANDOFF_CANCELLED_INTENT, RasaGateway
from handoff.state_machine import OPEN_STATES, HandoffStatus
from handoff.validation import RasaEvent
from handoff.vocabulary import Resolution

logger = logging.getLogger(__name__)

_ROLES = {"user": MessageRole.USER, "bot": MessageRole.BOT}


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicates"
    IGNORED = "ignored"


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    ignored: int


class EventIngestor:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        feed: LiveFeed,
        rasa: RasaGateway,
    ):
        self._sessions = sessions
        self._feed = feed
        self._rasa = rasa

    async def ingest(self, events: Sequence[RasaEvent]) -> IngestResult:
        outcomes: Counter[Outcome] = Counter()
        stored: list[tuple[Message, Handoff]] = []
        async with self._sessions.begin() as session:
            batch = _Batch(session, session.get_bind().dialect.name)
            for event in events:
                outcomes[await batch.ingest(event, stored)] += 1
        for message, handoff in stored:
            await self._feed.publish(message_frame(message), audience_for(handoff))
        for handoff in batch.cancelled:
            await self._give_back_to_bot(handoff)
        return IngestResult(
            accepted=outcomes[Outcome.ACCEPTED],
            duplicates=outcomes[Outcome.DUPLICATE],
            ignored=outcomes[Outcome.IGNORED],
        )

    async def _give_back_to_bot(self, handoff: Handoff) -> None:
        await self._feed.publish(handoff_frame("handoff.updated", handoff, None))
        try:
            await self._rasa.resume_and_trigger(
                handoff.sender_id, HANDOFF_CANCELLED_INTENT, {"handoff_id": handoff.id}
            )
        except RasaUnavailable:
            # The broker has its answer already and will not resend; the
            # customer's next message after Rasa is back finds no open handoff.
            logger.warning(
                "handoff %s was cancelled but Rasa could not resume the bot",
                handoff.id,
            )


class _Batch:
    """One batch of events, ingested in one transaction."""

    def __init__(self, session: AsyncSession, dialect_name: str) -> None:
        self._session = session
        self._dialect_name = dialect_name
        self._open_handoffs: dict[str, Handoff | None] = {}
        self.cancelled: list[Handoff] = []

    async def ingest(
        self, event: RasaEvent, stored: list[tuple[Message, Handoff]]
    ) -> Outcome:
        if (
            event.type not in _ROLES
            or event.sender_id is None
            or event.timestamp is None
        ):
            return Outcome.IGNORED
        if event.tandem_message_id is not None:
            return await self._confirm_delivery(event, event.tandem_message_id)
        handoff = await self._open_handoff(event.sender_id)
        if handoff is None or not event.text or not event.text.strip():
            return Outcome.IGNORED
        if (
            handoff.transcript_until is not None
            and event.timestamp <= handoff.transcript_until
        ):
            return Outcome.IGNORED
        if not await self._first_delivery(event):
            return Outcome.DUPLICATE
        message = Message(
            handoff_id=handoff.id,
            role=_ROLES[event.type],
            text=event.text,
            rasa_timestamp=event.timestamp,
            created_at=datetime.fromtimestamp(event.timestamp, timezone.utc),
        )
        self._session.add(message)
        await self._session.flush()
        stored.append((message, handoff))
        if message.role is MessageRole.USER:
            await self._customer_wrote(handoff, event.text)
        return Outcome.ACCEPTED

    async def _customer_wrote(self, handoff: Handoff, text: str) -> None:
        now = utcnow()
        handoff.last_customer_activity_at = now
        if handoff.status is HandoffStatus.ASSIGNED:
            if handoff.awaiting_agent_since is None:
                handoff.awaiting_agent_since = now
            return
        if not is_cancel_phrase(text):
            return
        state_machine.ensure_allowed(handoff.status, HandoffStatus.ABANDONED)
        # Conditional, like every status change: an agent may have claimed the
        # handoff since it was read, and then the customer stays with them.
        result = cast(
            CursorResult[Any],
            await self._session.execute(
                update(Handoff)
                .where(Handoff.id == handoff.id, Handoff.status == HandoffStatus.QUEUED)
                .values(
                    status=HandoffStatus.ABANDONED,
                    resolution=Resolution.CUSTOMER_CANCELLED,
                    resolved_at=now,
                )
                .execution_options(synchronize_session=False)
            ),
        )
        await self._session.refresh(handoff)
        if result.rowcount == 1:
            self._open_handoffs[handoff.sender_id] = None
            self.cancelled.append(handoff)

    async def _confirm_delivery(self, event: RasaEvent, message_id: int) -> Outcome:
        # The echo of an agent reply: Rasa now has it in the conversation.
        message = await self._session.get(Message, message_id)
        if message is None or message.role is not MessageRole.AGENT:
            return Outcome.IGNORED
        handoff = await self._session.get(Handoff, message.handoff_id)
        if handoff is None or handoff.sender_id != event.sender_id:
            return Outcome.IGNORED
        if not await self._first_delivery(event):
            return Outcome.DUPLICATE
        message.delivery = Delivery.DELIVERED
        return Outcome.ACCEPTED

    async def _open_handoff(self, sender_id: str) -> Handoff | None:
        if sender_id not in self._open_handoffs:
            self._open_handoffs[sender_id] = await self._session.scalar(
                select(Handoff).where(
                    Handoff.sender_id == sender_id, Handoff.status.in_(OPEN_STATES)
                )
            )
        return self._open_handoffs[sender_id]

    async def _first_delivery(self, event: RasaEvent) -> bool:
        text_sha256 = hashlib.sha256((event.text or "").encode("utf-8")).hexdigest()
        result = cast(
            CursorResult[Any],
            await self._session.execute(
                insert_ignoring_conflicts(self._dialect_name, ProcessedEvent).values(
                    sender_id=event.sender_id,
                    event_type=event.type,
                    rasa_timestamp=event.timestamp,
                    text_sha256=text_sha256,
                    processed_at=utcnow(),
                )
            ),
        )
        return result.rowcount == 1
