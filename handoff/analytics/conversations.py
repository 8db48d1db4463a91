"""Every conversation the bot has, recorded from Rasa's event stream.

A ``session_started`` event opens a conversation; the customer's first ``user``
event in it marks it as one to count, and gives its channel and, when the NLU
could tell, its language. If the broker lost the ``session_started`` event, the
first ``user`` event opens the conversation itself. Redelivered events change
nothing, so the broker may retry freely.

Most events are later messages of a conversation already complete (first
message and language known); those are answered from memory, so recording
costs no database transaction on the hot path of a handoff. Rasa logs a new
session's ``session_started`` together with the message that started it, and
the broker posts them in one batch, so a batch without a ``session_started``
for a sender continues that sender's known conversation.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.db import insert_ignoring_conflicts
from handoff.storage.models import Conversation

LANGUAGES = frozenset({"ko", "en"})
# The column's length. Rasa's events other than messages are not validated, and
# PostgreSQL refuses a NUL character in text.
MAX_SENDER_ID_LENGTH = 255
# Senders whose conversation is complete, remembered at about 100 bytes each.
COMPLETE_SENDERS_REMEMBERED = 50_000


@dataclass(frozen=True)
class SessionStart:
    sender_id: str
    at: datetime


@dataclass(frozen=True)
class CustomerMessage:
    sender_id: str
    at: datetime
    channel: str | None
    language: str | None


ConversationEvent = SessionStart | CustomerMessage


def conversation_events(events: Sequence[Any]) -> list[ConversationEvent]:
    """The events that open or mark a conversation, in stream order.

    Only the first customer message of each session in the batch matters; the
    rest of the stream (and anything malformed) is left to the other readers.
    """
    found: list[ConversationEvent] = []
    counted_since_start: set[str] = set()
    for event in events:
        if not isinstance(event, Mapping):
            continue
        sender_id, at = event.get("sender_id"), _moment(event.get("timestamp"))
        if (
            not isinstance(sender_id, str)
            or not 0 < len(sender_id) <= MAX_SENDER_ID_LENGTH
            or "\x00" in sender_id
            or at is None
        ):
            continue
        if event.get("event") == "session_started":
            counted_since_start.discard(sender_id)
            found.append(SessionStart(sender_id, at))
        elif event.get("event") == "user" and sender_id not in counted_since_start:
            counted_since_start.add(sender_id)
            found.append(
                CustomerMessage(sender_id, at, _channel(event), _language(event))
            )
    return found


class ConversationRecorder:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        remembered: int = COMPLETE_SENDERS_REMEMBERED,
    ) -> None:
        self._sessions = sessions
        self._remembered = remembered
        self._complete: OrderedDict[str, None] = OrderedDict()

    async def record(self, events: Sequence[Any]) -> None:
        found = [event for event in conversation_events(events) if self._needed(event)]
        if not found:
            return
        completed: list[str] = []
        async with self._sessions.begin() as session:
            dialect_name = session.get_bind().dialect.name
            for event in found:
                if isinstance(event, SessionStart):
                    await session.execute(
                        insert_ignoring_conflicts(dialect_name, Conversation).values(
                            sender_id=event.sender_id, started_at=event.at
                        )
                    )
                elif await _mark_first_message(session, dialect_name, event):
                    completed.append(event.sender_id)
        for sender_id in completed:
            self._remember(sender_id)

    def _needed(self, event: ConversationEvent) -> bool:
        if isinstance(event, SessionStart):
            self._complete.pop(event.sender_id, None)
            return True
        if event.sender_id in self._complete:
            self._complete.move_to_end(event.sender_id)
            return False
        return True

    def _remember(self, sender_id: str) -> None:
        self._complete[sender_id] = None
        self._complete.move_to_end(sender_id)
        while len(self._complete) > self._remembered:
            self._complete.popitem(last=False)


async def _mark_first_message(
    session: AsyncSession, dialect_name: str, message: CustomerMessage
) -> bool:
    """Records the message where it is the first; True once nothing is missing."""
    current = (
        await session.execute(
            select(
                Conversation.id, Conversation.first_message_at, Conversation.language
            )
            .where(
                Conversation.sender_id == message.sender_id,
                Conversation.started_at <= message.at,
            )
            .order_by(Conversation.started_at.desc())
            .limit(1)
        )
    ).first()
    if current is None:
        await session.execute(
            insert_ignoring_conflicts(dialect_name, Conversation).values(
                sender_id=message.sender_id,
                started_at=message.at,
                first_message_at=message.at,
                channel=message.channel,
                language=message.language,
            )
        )
        return message.language is not None
    changes: dict[str, Any] = {}
    if current.first_message_at is None:
        changes.update(first_message_at=message.at, channel=message.channel)
    if current.language is None and message.language is not None:
        # The first message may be a bare number; a later one tells the language.
        changes["language"] = message.language
    if changes:
        await session.execute(
            update(Conversation).where(Conversation.id == current.id).values(**changes)
        )
    return (current.language or message.language) is not None


def _moment(raw: Any) -> datetime | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    if not math.isfinite(raw) or not 0 <= raw < 1e11:
        return None
    return datetime.fromtimestamp(raw, timezone.utc)


def _channel(event: Mapping[str, Any]) -> str | None:
    channel = event.get("input_channel")
    if isinstance(channel, str) and 0 < len(channel) <= 64:
        return channel
    return None


def _language(event: Mapping[str, Any]) -> str | None:
    parse_data = event.get("parse_data")
    if not isinstance(parse_data, Mapping):
        return None
    language = parse_data.get("language")
    return language if language in LANGUAGES else None
