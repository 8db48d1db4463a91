"""Ingestion of Rasa's event stream into the conversations of open handoffs.

The broker that forwards events retries after failures, so the same event may
arrive more than once; each is recorded in ``processed_events`` and stored once.
Batches that arrive together are ingested together, in one transaction (group
commit), and an agent sees a message only once it is committed. The plain
messages among them cost four Core statements whatever their number: the open
handoffs of their senders, the events' records (which tell the redelivered ones
apart), the messages, the handoffs' timers. The rare events that may change a
handoff's state (a cancel phrase) or confirm a delivery go one by one, in their
place in the stream. The frames for the agents' consoles, messages and status
changes alike, go out in the stream's order once the transaction has committed.
A customer's message also keeps the handoff's timers (silence in the queue,
waiting for an agent's reply), and a cancel phrase written while queued takes
the customer out of the queue and gives the conversation back to the bot. Any
other message written while queued is kept for the agent like every message and
acknowledged to the customer, at most once a minute per handoff: the time of the
last acknowledgement is a column of the handoff, claimed by a conditional
UPDATE, so several service instances acknowledge once between them.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from sqlalchemy import and_, case, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from handoff.api.presenters import message_frame
from handoff.api.validation import RasaEvent
from handoff.conversation.agent_replies import not_failed_by_platform
from handoff.conversation.customer_notices import (
    acknowledgement_text,
    is_cancel_phrase,
)
from handoff.conversation.file_types import is_image
from handoff.conversation.personal_data import mask_personal_data
from handoff.conversation.rasa_client import HANDOFF_CANCELLED_INTENT, RasaGateway
from handoff.errors import RasaUnavailable
from handoff.observability.metrics import ServiceMetrics
from handoff.queue.state_machine import INGEST, Changes, Transitions
from handoff.queue.states import OPEN_STATES, HandoffStatus
from handoff.realtime.group_commit import Coalescer, GroupCommitter
from handoff.realtime.live_feed import Audience, LiveFeed
from handoff.staff.permissions import audience_for_status
from handoff.storage.db import insert_ignoring_conflicts
from handoff.storage.models import (
    ATTACHMENT_METADATA,
    ATTACHMENTS,
    HANDOFFS,
    MESSAGES,
    Attachment,
    Delivery,
    Handoff,
    Message,
    MessageRole,
    ProcessedEvent,
    utcnow,
)
from handoff.vocabulary import Resolution, TransitionReason

logger = logging.getLogger(__name__)

_ROLES = {"user": MessageRole.USER, "bot": MessageRole.BOT}
# The text a channel gives a message that carries a file (the bot's intent).
SHARE_ATTACHMENT = "/share_attachment"


class Outcome(enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicates"
    IGNORED = "ignored"


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    ignored: int


# Events per statement on the plain path, well inside SQLite's bound parameters.
CHUNK_EVENTS = 200
# A customer writing while queued hears that the message will reach the agent,
# once in this interval however much they write.
ACKNOWLEDGE_INTERVAL = timedelta(minutes=1)


@dataclass
class _OpenHandoff:
    """The columns of an open handoff that ingesting a message reads."""

    id: int
    sender_id: str
    language: str
    status: HandoffStatus
    assigned_agent_id: int | None
    transcript_until: float | None

    @property
    def audience(self) -> Audience:
        return audience_for_status(self.status, self.assigned_agent_id)


_OPEN_HANDOFF_COLUMNS = (
    Handoff.id,
    Handoff.sender_id,
    Handoff.language,
    Handoff.status,
    Handoff.assigned_agent_id,
    Handoff.transcript_until,
)
_EVENT_KEY_COLUMNS = (
    ProcessedEvent.sender_id,
    ProcessedEvent.event_type,
    ProcessedEvent.rasa_timestamp,
    ProcessedEvent.text_sha256,
)
# sender_id, event_type, rasa_timestamp, text_sha256: what makes an event unique.
_EventKey = tuple[str, str, float, str]


@dataclass(frozen=True)
class _Acknowledgement:
    handoff_id: int
    sender_id: str
    language: str


@dataclass
class _Ingested:
    """What one batch stored: its counts, whom to give back to the bot, and
    whose waiting messages to acknowledge."""

    outcomes: Counter[Outcome] = field(default_factory=Counter)
    cancelled: list[Handoff] = field(default_factory=list)
    # Customer messages stored, whose frames go to the agents' feed.
    customer_messages: int = 0
    acknowledged: list[_Acknowledgement] = field(default_factory=list)


@dataclass(frozen=True)
class _Plain:
    """A message event that changes no handoff's state, and its batch."""

    event: RasaEvent
    ingested: _Ingested


class EventIngestor:
    def __init__(
        self,
        committer: GroupCommitter,
        feed: LiveFeed,
        rasa: RasaGateway,
        metrics: ServiceMetrics,
        clock: Callable[[], datetime] = utcnow,
    ):
        self._committer = committer
        self._transitions = Transitions(committer.sessions, feed, metrics)
        self._feed = feed
        self._rasa = rasa
        self._metrics = metrics
        self._clock = clock
        self._batches: Coalescer[Sequence[RasaEvent], _Ingested] = Coalescer(
            self._ingest_together, concurrency=committer.concurrency
        )

    async def ingest(self, events: Sequence[RasaEvent]) -> IngestResult:
        received = time.perf_counter()
        ingested = await self._batches.submit(events)
        # The batch's frames went out once its transaction committed.
        self._metrics.customer_messages_relayed(
            time.perf_counter() - received, ingested.customer_messages
        )
        for handoff in ingested.cancelled:
            await self._give_back_to_bot(handoff)
        for acknowledgement in ingested.acknowledged:
            await self._acknowledge(acknowledgement)
        outcomes = ingested.outcomes
        return IngestResult(
            accepted=outcomes[Outcome.ACCEPTED],
            duplicates=outcomes[Outcome.DUPLICATE],
            ignored=outcomes[Outcome.IGNORED],
        )

    async def _ingest_together(
        self, batches: Sequence[Sequence[RasaEvent]]
    ) -> list[_Ingested]:
        async def work(changes: Changes) -> list[_Ingested]:
            stream = _Stream(changes, await changes.session.connection(), self._clock())
            results = []
            for events in batches:
                ingested = _Ingested()
                for event in events:
                    await stream.take(event, ingested)
                results.append(ingested)
            await stream.store_plain()
            return results

        return await self._transitions.run(self._committer, work)

    async def _acknowledge(self, acknowledgement: _Acknowledgement) -> None:
        try:
            await self._rasa.send_notice(
                acknowledgement.sender_id,
                acknowledgement_text(acknowledgement.language),
            )
        except RasaUnavailable:
            # The message itself is stored and reaches the agent regardless.
            logger.warning(
                "could not acknowledge a waiting message of handoff %s",
                acknowledgement.handoff_id,
            )

    async def _give_back_to_bot(self, handoff: Handoff) -> None:
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


class _Stream:
    """The events of one transaction, in order.

    Plain messages wait in ``_plain`` and are stored together; an event that
    may change a handoff's state stores the waiting ones first, so every event
    sees the ones before it.
    """

    def __init__(
        self, changes: Changes, connection: AsyncConnection, now: datetime
    ) -> None:
        self._changes = changes
        self._connection = connection
        # One moment for the whole transaction: its messages arrived together.
        self._now = now
        self._dialect_name = connection.dialect.name
        # Read inside the transaction and kept only for it: another instance may
        # change a handoff between two transactions.
        self._open_handoffs: dict[str, _OpenHandoff | None] = {}
        self._plain: list[_Plain] = []

    async def take(self, event: RasaEvent, ingested: _Ingested) -> None:
        if (
            event.type not in _ROLES
            or event.sender_id is None
            or event.timestamp is None
        ):
            ingested.outcomes[Outcome.IGNORED] += 1
            return
        if event.tandem_message_id is None and not (
            event.type == "user" and event.text and is_cancel_phrase(event.text)
        ):
            self._plain.append(_Plain(event, ingested))
            if len(self._plain) >= CHUNK_EVENTS:
                await self.store_plain()
            return
        await self.store_plain()
        if event.tandem_message_id is not None:
            outcome = await self._confirm_delivery(event, event.tandem_message_id)
        else:
            outcome = await self._cancel_phrase(event, ingested)
        ingested.outcomes[outcome] += 1

    async def store_plain(self) -> None:
        """Stores the waiting plain messages: four statements for all of them."""
        plain, self._plain = self._plain, []
        if not plain:
            return
        await self._load_open_handoffs(
            {cast(str, item.event.sender_id) for item in plain}
        )
        wanted: list[tuple[_Plain, _OpenHandoff]] = []
        for item in plain:
            handoff = self._storable(item.event)
            if handoff is None:
                item.ingested.outcomes[Outcome.IGNORED] += 1
            else:
                wanted.append((item, handoff))
        first = await self._first_deliveries(item.event for item, _ in wanted)
        fresh: list[tuple[_Plain, _OpenHandoff]] = []
        for item, handoff in wanted:
            key = _event_key(item.event)
            if key in first:
                # A second copy in the same stream is a duplicate too.
                first.discard(key)
                fresh.append((item, handoff))
            else:
                item.ingested.outcomes[Outcome.DUPLICATE] += 1
        if not fresh:
            return
        files = await self._customers_files(item.event for item, _ in fresh)
        messages = [
            _message(item.event, handoff, files.get(item.event.attachment_id or ""))
            for item, handoff in fresh
        ]
        ids = await self._connection.scalars(
            insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True),
            [_message_row(message) for message in messages],
        )
        carried: dict[str, int] = {}
        for (item, handoff), message, message_id in zip(
            fresh, messages, ids, strict=True
        ):
            message.id = message_id
            attachment = None
            if message.attachment_id is not None:
                attachment = files[message.attachment_id]
                carried.setdefault(attachment.id, handoff.id)
            self._changes.announce(
                message_frame(message, None, attachment), handoff.audience
            )
            item.ingested.outcomes[Outcome.ACCEPTED] += 1
            if message.role is MessageRole.USER:
                item.ingested.customer_messages += 1
        await self._link_files(carried)
        wrote = {
            handoff.id: item.ingested
            for item, handoff in reversed(fresh)
            if item.event.type == "user"
        }
        await self._customers_wrote(set(wrote))
        await self._acknowledge_waiting(wrote)

    def _storable(self, event: RasaEvent) -> _OpenHandoff | None:
        """The open handoff a message event belongs in, if it is to be stored."""
        handoff = self._open_handoffs.get(cast(str, event.sender_id))
        if handoff is None or not event.text or not event.text.strip():
            return None
        if (
            handoff.transcript_until is not None
            and cast(float, event.timestamp) <= handoff.transcript_until
        ):
            # Already in the transcript the bot handed over.
            return None
        return handoff

    async def _cancel_phrase(self, event: RasaEvent, ingested: _Ingested) -> Outcome:
        # The customer may be leaving the queue: a status change, so on its own.
        await self._load_open_handoffs({cast(str, event.sender_id)})
        handoff = self._storable(event)
        if handoff is None:
            return Outcome.IGNORED
        if not await self._first_deliveries([event]):
            return Outcome.DUPLICATE
        message = _message(event, handoff)
        message.id = await self._connection.scalar(
            insert(MESSAGES).values(_message_row(message)).returning(MESSAGES.c.id)
        )
        self._changes.announce(message_frame(message, None), handoff.audience)
        ingested.customer_messages += 1
        if handoff.status is not HandoffStatus.QUEUED:
            await self._customers_wrote({handoff.id})
            return Outcome.ACCEPTED
        now = self._now
        # Guarded like every status change: an agent may have claimed the
        # handoff since it was read, and then the customer stays with them.
        cancelled = await self._changes.move(
            handoff.id,
            HandoffStatus.ABANDONED,
            by=INGEST,
            reason=TransitionReason.CUSTOMER_CANCELLED,
            values={
                "resolution": Resolution.CUSTOMER_CANCELLED,
                "resolved_at": now,
                "last_customer_activity_at": now,
            },
        )
        if cancelled is None:
            await self._customers_wrote({handoff.id})
            return Outcome.ACCEPTED
        self._open_handoffs[handoff.sender_id] = None
        ingested.cancelled.append(cancelled)
        return Outcome.ACCEPTED

    async def _customers_wrote(self, handoff_ids: set[int]) -> None:
        """The customers' timers: when they last wrote, since when they wait."""
        if not handoff_ids:
            return
        now = self._now
        awaiting = HANDOFFS.c.awaiting_agent_since
        await self._connection.execute(
            update(HANDOFFS)
            .where(HANDOFFS.c.id.in_(sorted(handoff_ids)))
            .values(
                last_customer_activity_at=now,
                # An assigned customer waits for the agent from the first
                # message the agent has not answered yet.
                awaiting_agent_since=case(
                    (
                        and_(
                            HANDOFFS.c.status == HandoffStatus.ASSIGNED,
                            awaiting.is_(None),
                        ),
                        literal(now, awaiting.type),
                    ),
                    else_=awaiting,
                ),
            )
        )

    async def _acknowledge_waiting(self, wrote: dict[int, _Ingested]) -> None:
        """Claims the acknowledgement of the queued handoffs among ``wrote`` that
        had none in the last interval; the batch that wrote first sends it."""
        if not wrote:
            return
        acknowledged_at = HANDOFFS.c.acknowledged_at
        claimed = await self._connection.execute(
            update(HANDOFFS)
            .where(
                HANDOFFS.c.id.in_(sorted(wrote)),
                HANDOFFS.c.status == HandoffStatus.QUEUED,
                or_(
                    acknowledged_at.is_(None),
                    acknowledged_at <= self._now - ACKNOWLEDGE_INTERVAL,
                ),
            )
            .values(acknowledged_at=self._now)
            .returning(HANDOFFS.c.id, HANDOFFS.c.sender_id, HANDOFFS.c.language)
        )
        for handoff_id, sender_id, language in claimed:
            wrote[handoff_id].acknowledged.append(
                _Acknowledgement(handoff_id, sender_id, language)
            )

    async def _confirm_delivery(self, event: RasaEvent, message_id: int) -> Outcome:
        # The echo of an agent reply: Rasa now has it in the conversation.
        found = (
            await self._connection.execute(
                select(Message.role, Handoff.sender_id)
                .join(Handoff, Handoff.id == Message.handoff_id)
                .where(Message.id == message_id)
            )
        ).first()
        if (
            found is None
            or found.role is not MessageRole.AGENT
            or found.sender_id != event.sender_id
        ):
            return Outcome.IGNORED
        if not await self._first_deliveries([event]):
            return Outcome.DUPLICATE
        await self._connection.execute(
            update(MESSAGES)
            .where(MESSAGES.c.id == message_id, not_failed_by_platform())
            .values(
                delivery=Delivery.DELIVERED,
                failure_reason=None,
                failure_permanent=None,
            )
        )
        return Outcome.ACCEPTED

    async def _customers_files(
        self, events: Iterable[RasaEvent]
    ) -> dict[str, Attachment]:
        """The kept files the customers' messages say they carry, by id: only a
        customer's own file, whatever id their channel names."""
        wanted = {
            event.attachment_id: event.sender_id
            for event in events
            if event.attachment_id is not None
        }
        if not wanted:
            return {}
        rows = await self._connection.execute(
            select(*ATTACHMENT_METADATA).where(
                ATTACHMENTS.c.id.in_(sorted(wanted)),
                ATTACHMENTS.c.erased_at.is_(None),
            )
        )
        return {
            row.id: Attachment(**row._mapping)
            for row in rows
            if wanted[row.id] == row.sender_id
        }

    async def _link_files(self, carried: dict[str, int]) -> None:
        """Files not yet in a handoff join the one their message went to, whose
        staff may then open them."""
        for attachment_id, handoff_id in sorted(carried.items()):
            await self._connection.execute(
                update(ATTACHMENTS)
                .where(
                    ATTACHMENTS.c.id == attachment_id,
                    ATTACHMENTS.c.handoff_id.is_(None),
                )
                .values(handoff_id=handoff_id)
            )

    async def _load_open_handoffs(self, sender_ids: set[str]) -> None:
        unknown = sorted(sender_ids - self._open_handoffs.keys())
        if not unknown:
            return
        rows = await self._connection.execute(
            select(*_OPEN_HANDOFF_COLUMNS).where(
                Handoff.sender_id.in_(unknown), Handoff.status.in_(OPEN_STATES)
            )
        )
        self._open_handoffs.update(dict.fromkeys(unknown))
        for row in rows:
            self._open_handoffs[row.sender_id] = _OpenHandoff(**row._mapping)

    async def _first_deliveries(self, events: Iterable[RasaEvent]) -> set[_EventKey]:
        """Records the events; the keys of those not recorded before."""
        now = self._now
        rows = [
            {
                "sender_id": key[0],
                "event_type": key[1],
                "rasa_timestamp": key[2],
                "text_sha256": key[3],
                "processed_at": now,
            }
            for key in map(_event_key, events)
        ]
        if not rows:
            return set()
        # ON CONFLICT DO NOTHING returns only the rows it inserted.
        inserted = await self._connection.execute(
            insert_ignoring_conflicts(self._dialect_name, ProcessedEvent)
            .values(rows)
            .returning(*_EVENT_KEY_COLUMNS)
        )
        return {cast(_EventKey, tuple(row)) for row in inserted}


def _event_key(event: RasaEvent) -> _EventKey:
    text_sha256 = hashlib.sha256((event.text or "").encode("utf-8")).hexdigest()
    return (
        cast(str, event.sender_id),
        event.type,
        cast(float, event.timestamp),
        text_sha256,
    )


def _message(
    event: RasaEvent, handoff: _OpenHandoff, attachment: Attachment | None = None
) -> Message:
    """The message, not yet stored (its id comes from the INSERT)."""
    timestamp = cast(float, event.timestamp)
    text = cast(str, event.text)
    if attachment is not None and text.startswith(SHARE_ATTACHMENT):
        # The channel's intent stands for the file; staff read what it is.
        text = mask_personal_data(file_caption(attachment))
    return Message(
        handoff_id=handoff.id,
        role=_ROLES[event.type],
        text=text,
        agent_id=None,
        rasa_timestamp=timestamp,
        delivery=None,
        created_at=datetime.fromtimestamp(timestamp, timezone.utc),
        attachment_id=None if attachment is None else attachment.id,
    )


def file_caption(attachment: Attachment) -> str:
    """How a transcript names a file: ``[photo: modem.jpg]``, ``[file: bill.pdf]``."""
    kind = "photo" if is_image(attachment.media_type) else "file"
    return f"[{kind}: {attachment.filename}]"


def _message_row(message: Message) -> dict[str, Any]:
    return {
        "handoff_id": message.handoff_id,
        "role": message.role,
        "text": message.text,
        "agent_id": None,
        "rasa_timestamp": message.rasa_timestamp,
        "delivery": None,
        "created_at": message.created_at,
        "attachment_id": message.attachment_id,
    }
