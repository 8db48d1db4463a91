"""Storing agents' replies and their delivery to Rasa, many at a time.

An agent's reply is stored before it goes to Rasa (its id travels with it, so
Rasa's echo can confirm it) and its delivery is recorded after. Replies that
arrive together are stored together, in one transaction of the group commit and
three Core statements for all of them: their handoffs, the messages, the
handoffs' cleared timers. Their deliveries are recorded the same way, in one
UPDATE. A reply that may not be stored (the handoff is someone else's, or no
longer assigned) is refused on its own and the others of its group are stored:
a refusal is an answer, not a failure of the group's transaction.

A reply may carry the console's own id for it (``client_id``). One sent again with
an id its handoff already holds is not stored again: the stored reply is the answer,
marked ``again``, for the caller to deliver it if it is not delivered yet. Two
instances storing the same reply at once meet at the unique index: the one that
lost looks again and answers with the winner's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from typing import Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import insert
from sqlalchemy.sql.elements import ColumnElement

from handoff.errors import (
    DomainError,
    Forbidden,
    InvalidRequest,
    InvalidTransition,
    NotFound,
)
from handoff.queue.states import HandoffStatus
from handoff.realtime.group_commit import Coalescer, GroupCommitter
from handoff.realtime.live_feed import Audience
from handoff.staff import permissions
from handoff.storage.models import (
    ATTACHMENT_METADATA,
    ATTACHMENTS,
    HANDOFFS,
    MESSAGES,
    Agent,
    Attachment,
    Delivery,
    Handoff,
    Message,
    MessageRole,
    utcnow,
)
from handoff.vocabulary import DeliveryFailureReason


@dataclass(frozen=True)
class Reply:
    handoff_id: int
    agent: Agent
    # The agent's words; may be empty with a file, whose name is then the text.
    text: str
    # A file uploaded to this handoff, sent with the text.
    attachment_id: str | None = None
    # The console's own id for the reply (the module's docstring).
    client_id: str | None = None


@dataclass(frozen=True)
class DeliveryOutcome:
    """Delivered, or failed with its reason."""

    delivery: Delivery
    failure_reason: DeliveryFailureReason | None = None
    failure_permanent: bool | None = None


DELIVERED = DeliveryOutcome(Delivery.DELIVERED)


def failed(reason: DeliveryFailureReason, *, permanent: bool) -> DeliveryOutcome:
    return DeliveryOutcome(Delivery.FAILED, reason, permanent)


@dataclass(frozen=True)
class StoredReply:
    message: Message
    sender_id: str
    audience: Audience
    # The handoff as it is now, when storing the reply lifted its no-reply flag.
    unflagged: Handoff | None
    attachment: Attachment | None = None
    # Stored before under the same client id: this is that reply.
    again: bool = False


class ReplyStore:
    def __init__(self, committer: GroupCommitter) -> None:
        self._committer = committer
        concurrency = committer.concurrency
        self._replies: Coalescer[Reply, StoredReply | DomainError] = Coalescer(
            self._store_all, concurrency=concurrency
        )
        self._deliveries: Coalescer[tuple[int, DeliveryOutcome], Message] = Coalescer(
            self._record_all, concurrency=concurrency
        )

    async def store(self, reply: Reply) -> StoredReply:
        """The reply, committed as pending delivery."""
        stored = await self._replies.submit(reply)
        if isinstance(stored, DomainError):
            raise stored
        return stored

    async def record_delivery(
        self, message_id: int, outcome: DeliveryOutcome
    ) -> Message:
        """The message after its delivery is recorded.

        A failure is recorded only over a pending delivery: Rasa's echo may
        have confirmed the message meanwhile, and then it stays delivered.
        """
        return await self._deliveries.submit((message_id, outcome))

    async def _store_all(
        self, replies: Sequence[Reply]
    ) -> list[StoredReply | DomainError]:
        async def work(session: AsyncSession) -> list[StoredReply | DomainError]:
            return await _store(session, replies)

        try:
            return await self._committer.run(work)
        except IntegrityError:
            # Another instance stored a reply under the same client id after
            # this one looked: looking again finds it, and it is the answer.
            return await self._committer.run(work)

    async def _record_all(
        self, deliveries: Sequence[tuple[int, DeliveryOutcome]]
    ) -> list[Message]:
        async def work(session: AsyncSession) -> list[Message]:
            return await _record(session, deliveries)

        return await self._committer.run(work)


async def _store(
    session: AsyncSession, requested: Sequence[Reply]
) -> list[StoredReply | DomainError]:
    connection = await session.connection()
    handoff_ids = sorted({reply.handoff_id for reply in requested})
    handoffs = {
        row.id: row
        for row in await connection.execute(
            select(
                HANDOFFS.c.id,
                HANDOFFS.c.sender_id,
                HANDOFFS.c.status,
                HANDOFFS.c.assigned_agent_id,
                HANDOFFS.c.awaiting_agent_since,
                HANDOFFS.c.flagged_at,
            ).where(HANDOFFS.c.id.in_(handoff_ids))
        )
    }
    attachments = await _attachments(connection, requested)
    earlier = await _stored_before(connection, requested)
    # For each requested reply: its answer, or the index of the new reply it is.
    plan: list[StoredReply | DomainError | int] = []
    fresh: list[Reply] = []
    fresh_keys: dict[tuple[int, str], int] = {}
    for reply in requested:
        row = handoffs.get(reply.handoff_id)
        refusal = _refusal(row, reply, attachments)
        key = (reply.handoff_id, reply.client_id or "")
        if refusal is not None:
            plan.append(refusal)
        elif reply.client_id is not None and key in earlier:
            plan.append(_repeat(earlier[key], reply, row, attachments))
        elif reply.client_id is not None and key in fresh_keys:
            # The same reply twice in one group: stored once.
            plan.append(fresh_keys[key])
        else:
            if reply.client_id is not None:
                fresh_keys[key] = len(fresh)
            plan.append(len(fresh))
            fresh.append(reply)
    stored = await _insert(session, handoffs, attachments, fresh) if fresh else []
    answers: list[StoredReply | DomainError] = []
    answered: set[int] = set()
    for entry in plan:
        if not isinstance(entry, int):
            answers.append(entry)
        elif entry in answered:
            answers.append(replace(stored[entry], unflagged=None, again=True))
        else:
            answered.add(entry)
            answers.append(stored[entry])
    return answers


async def _insert(
    session: AsyncSession,
    handoffs: dict[int, Any],
    attachments: dict[str, Attachment],
    replies: list[Reply],
) -> list[StoredReply]:
    connection = await session.connection()
    now = utcnow()
    messages = [
        Message(
            handoff_id=reply.handoff_id,
            role=MessageRole.AGENT,
            text=reply.text or _file_name(attachments, reply.attachment_id),
            agent_id=reply.agent.id,
            rasa_timestamp=None,
            delivery=Delivery.PENDING,
            client_id=reply.client_id,
            created_at=now,
            attachment_id=reply.attachment_id,
        )
        for reply in replies
    ]
    ids = await connection.scalars(
        insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True),
        [_row(message) for message in messages],
    )
    for message, message_id in zip(messages, ids, strict=True):
        message.id = message_id
    # The agent answered: the customer no longer waits, the flag is lifted.
    replied_to = {reply.handoff_id for reply in replies}
    answered = sorted(
        handoff_id
        for handoff_id in replied_to
        if handoffs[handoff_id].awaiting_agent_since is not None
        or handoffs[handoff_id].flagged_at is not None
    )
    if answered:
        await connection.execute(
            update(HANDOFFS)
            .where(HANDOFFS.c.id.in_(answered))
            .values(awaiting_agent_since=None, flagged_at=None)
        )
    unflagged: dict[int, Handoff | None] = {}
    for handoff_id in sorted(replied_to):
        if handoffs[handoff_id].flagged_at is not None:
            unflagged[handoff_id] = await session.get(
                Handoff, handoff_id, populate_existing=True
            )
    return [
        StoredReply(
            message=message,
            sender_id=handoffs[reply.handoff_id].sender_id,
            audience=_audience(handoffs[reply.handoff_id]),
            # Announced once, with the group's first reply to the handoff.
            unflagged=unflagged.pop(reply.handoff_id, None),
            attachment=None
            if reply.attachment_id is None
            else attachments[reply.attachment_id],
        )
        for reply, message in zip(replies, messages, strict=True)
    ]


def _audience(row: Any) -> Audience:
    return permissions.audience_for_status(
        HandoffStatus.ASSIGNED, row.assigned_agent_id
    )


def _repeat(
    message: Message, reply: Reply, row: Any, attachments: dict[str, Attachment]
) -> StoredReply | DomainError:
    """The answer to a reply sent again: the one stored before, if it is its
    agent's, with the file it carries."""
    if message.agent_id != reply.agent.id:
        return Forbidden(
            f"another agent's reply in handoff {reply.handoff_id} has that client_id"
        )
    attachment = (
        None
        if message.attachment_id is None
        else attachments.get(message.attachment_id)
    )
    return StoredReply(
        message, row.sender_id, _audience(row), None, attachment, again=True
    )


async def _stored_before(
    connection: Any, replies: Sequence[Reply]
) -> dict[tuple[int, str], Message]:
    """The replies already stored under these replies' handoffs and client ids."""
    keyed = [reply for reply in replies if reply.client_id is not None]
    if not keyed:
        return {}
    rows = await connection.execute(
        select(MESSAGES).where(
            MESSAGES.c.handoff_id.in_(sorted({r.handoff_id for r in keyed})),
            MESSAGES.c.client_id.in_(sorted({cast(str, r.client_id) for r in keyed})),
        )
    )
    return {(row.handoff_id, row.client_id): Message(**row._mapping) for row in rows}


def _refusal(
    row: Any, reply: Reply, attachments: dict[str, Attachment]
) -> DomainError | None:
    """Why the reply may not be stored, if it may not."""
    refusal = write_refusal(row, reply.handoff_id, reply.agent)
    if refusal is not None or reply.attachment_id is None:
        return refusal
    attachment = attachments.get(reply.attachment_id)
    if attachment is None or attachment.handoff_id != reply.handoff_id:
        return InvalidRequest("attachment_id must name a file uploaded to this handoff")
    return None


def _file_name(attachments: dict[str, Attachment], attachment_id: str | None) -> str:
    return "" if attachment_id is None else attachments[attachment_id].filename


def write_refusal(row: Any, handoff_id: int, agent: Agent) -> DomainError | None:
    """Why ``agent`` may not write in the handoff (``row``, None when there is
    none), if they may not: it must be assigned to them."""
    if row is None:
        return NotFound(f"handoff {handoff_id} does not exist")
    if row.status is not HandoffStatus.ASSIGNED:
        return InvalidTransition(
            f"handoff {row.id} is {row.status.value}, not assigned",
            handoff_status=row.status.value,
        )
    if row.assigned_agent_id != agent.id:
        return Forbidden(f"handoff {row.id} is assigned to another agent")
    return None


async def _attachments(
    connection: AsyncConnection, replies: Sequence[Reply]
) -> dict[str, Attachment]:
    """The files the replies carry, by id, if they are still kept."""
    wanted = sorted(
        {reply.attachment_id for reply in replies if reply.attachment_id is not None}
    )
    if not wanted:
        return {}
    rows = await connection.execute(
        select(*ATTACHMENT_METADATA).where(
            ATTACHMENTS.c.id.in_(wanted), ATTACHMENTS.c.erased_at.is_(None)
        )
    )
    return {row.id: Attachment(**row._mapping) for row in rows}


async def _record(
    session: AsyncSession, deliveries: Sequence[tuple[int, DeliveryOutcome]]
) -> list[Message]:
    connection = await session.connection()
    found: dict[int, Message] = {}
    delivered = sorted(
        message_id
        for message_id, outcome in deliveries
        if outcome.delivery is Delivery.DELIVERED
    )
    statements = []
    if delivered:
        statements.append(
            update(MESSAGES)
            .where(MESSAGES.c.id.in_(delivered), not_failed_by_platform())
            .values(
                delivery=Delivery.DELIVERED,
                failure_reason=None,
                failure_permanent=None,
            )
        )
    # One statement for each kind of failure among them.
    failures = sorted(
        (
            (outcome.failure_reason, outcome.failure_permanent, message_id)
            for message_id, outcome in deliveries
            if outcome.delivery is Delivery.FAILED
        ),
        key=lambda failure: (str(failure[0]), str(failure[1]), failure[2]),
    )
    for (reason, permanent), group in groupby(
        failures, key=lambda failure: (failure[0], failure[1])
    ):
        statements.append(
            update(MESSAGES)
            .where(
                MESSAGES.c.id.in_([message_id for _, _, message_id in group]),
                MESSAGES.c.delivery == Delivery.PENDING,
            )
            .values(
                delivery=Delivery.FAILED,
                failure_reason=reason,
                failure_permanent=permanent,
            )
        )
    for statement in statements:
        for row in await connection.execute(statement.returning(*MESSAGES.c)):
            found[row.id] = Message(**row._mapping)
    missing = sorted({message_id for message_id, _ in deliveries} - found.keys())
    if missing:
        # Not failed after all: the echo had confirmed them already.
        for row in await connection.execute(
            select(MESSAGES).where(MESSAGES.c.id.in_(missing))
        ):
            found[row.id] = Message(**row._mapping)
    return [found[message_id] for message_id, _ in deliveries]


def not_failed_by_platform() -> ColumnElement[bool]:
    """Messages that Rasa's word may mark delivered: not those whose platform
    reported a failure, possibly before Rasa's answer or echo came."""
    return or_(
        MESSAGES.c.delivery.is_(None),
        MESSAGES.c.delivery != Delivery.FAILED,
        MESSAGES.c.failure_reason == DeliveryFailureReason.RASA_UNAVAILABLE,
    )


def _row(message: Message) -> dict[str, Any]:
    return {
        "handoff_id": message.handoff_id,
        "role": message.role,
        "text": message.text,
        "agent_id": message.agent_id,
        "rasa_timestamp": None,
        "delivery": message.delivery,
        "client_id": message.client_id,
        "created_at": message.created_at,
        "attachment_id": message.attachment_id,
    }
