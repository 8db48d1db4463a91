"""Storing agents' replies and their delivery to Rasa, many at a time.

An agent's reply is stored before it goes to Rasa (its id travels with it, so
Rasa's echo can confirm it) and its delivery is recorded after. Replies that
arrive together are stored together, in one transaction of the group commit and
three Core statements for all of them: their handoffs, the messages, the
handoffs' cleared timers. Their deliveries are recorded the same way, in one
UPDATE. A reply that may not be stored (the handoff is someone else's, or no
longer assigned) is refused on its own and the others of its group are stored:
a refusal is an answer, not a failure of the group's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import insert

from handoff.errors import DomainError, Forbidden, InvalidTransition, NotFound
from handoff.queue.states import HandoffStatus
from handoff.realtime.group_commit import Coalescer, GroupCommitter
from handoff.realtime.live_feed import Audience
from handoff.staff import permissions
from handoff.storage.models import (
    HANDOFFS,
    MESSAGES,
    Agent,
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
    text: str


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
    refusals = {
        index: refusal
        for index, reply in enumerate(requested)
        if (refusal := _refusal(handoffs.get(reply.handoff_id), reply)) is not None
    }
    replies = [reply for index, reply in enumerate(requested) if index not in refusals]
    if not replies:
        return list(refusals.values())
    now = utcnow()
    messages = [
        Message(
            handoff_id=reply.handoff_id,
            role=MessageRole.AGENT,
            text=reply.text,
            agent_id=reply.agent.id,
            rasa_timestamp=None,
            delivery=Delivery.PENDING,
            created_at=now,
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
    stored = iter(
        StoredReply(
            message=message,
            sender_id=handoffs[reply.handoff_id].sender_id,
            audience=permissions.audience_for_status(
                HandoffStatus.ASSIGNED, handoffs[reply.handoff_id].assigned_agent_id
            ),
            # Announced once, with the group's first reply to the handoff.
            unflagged=unflagged.pop(reply.handoff_id, None),
        )
        for reply, message in zip(replies, messages, strict=True)
    )
    return [
        refusals[index] if index in refusals else next(stored)
        for index in range(len(requested))
    ]


def _refusal(row: Any, reply: Reply) -> DomainError | None:
    """Why the reply may not be stored, if it may not."""
    if row is None:
        return NotFound(f"handoff {reply.handoff_id} does not exist")
    if row.status is not HandoffStatus.ASSIGNED:
        return InvalidTransition(
            f"handoff {row.id} is {row.status.value}, not assigned",
            handoff_status=row.status.value,
        )
    if row.assigned_agent_id != reply.agent.id:
        return Forbidden(f"handoff {row.id} is assigned to another agent")
    return None


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
            .where(MESSAGES.c.id.in_(delivered))
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


def _row(message: Message) -> dict[str, Any]:
    return {
        "handoff_id": message.handoff_id,
        "role": message.role,
        "text": message.text,
        "agent_id": message.agent_id,
        "rasa_timestamp": None,
        "delivery": message.delivery,
        "created_at": message.created_at,
    }
