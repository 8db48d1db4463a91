"""How many web chat session ids one client address is issued per minute.

A chat page needs one id per conversation, so a burst from one address is someone
collecting ids or filling the bot's tracker store with empty conversations. Each
id is recorded with its address in the database, so every instance on one
database counts the same ids; the record also tells the handoff limit which
address a conversation came from.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.conversation.chat_sessions import issue_session_id
from handoff.conversation.refusals import RefusalLog
from handoff.errors import TooManyRequests
from handoff.storage.models import ChatSession, UTCDateTime, utcnow
from handoff.vocabulary import RefusalKind

WINDOW = timedelta(minutes=1)
# Issuance records are kept at least this long: conversations last hours, not days.
MIN_RETENTION = timedelta(days=1)
# Refused issuances belong to no conversation yet.
NO_SENDER = ""


def session_digest(sender_id: str) -> str:
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()


class ChatSessionIssuer:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        secret: str,
        per_address: int,
        refusals: RefusalLog,
    ) -> None:
        self._sessions = sessions
        self._secret = secret
        self._per_address = per_address
        self._refusals = refusals

    async def issue(self, client_address: str) -> str:
        """A new signed id for ``client_address``, or a refusal over the limit."""
        session_id = issue_session_id(self._secret)
        now = utcnow()
        async with self._sessions.begin() as session:
            if await self._record(session, session_id, client_address, now):
                return session_id
            oldest = await session.scalar(
                select(func.min(ChatSession.issued_at)).where(
                    *_recent(client_address, now)
                )
            )
        await self._refusals.record(NO_SENDER, RefusalKind.CHAT_SESSIONS)
        waited = timedelta(0) if oldest is None else now - oldest
        raise TooManyRequests(
            "too many new chat sessions from this address; try again later",
            max(1, math.ceil((WINDOW - waited).total_seconds())),
        )

    async def _record(
        self, session: AsyncSession, session_id: str, address: str, now: datetime
    ) -> bool:
        # One statement, the count guarding the insert: instances racing on one
        # address can overshoot by their number at most, never by a burst.
        issued_recently = (
            select(func.count()).where(*_recent(address, now)).scalar_subquery()
        )
        inserted = cast(
            CursorResult[Any],
            await session.execute(
                insert(ChatSession).from_select(
                    ["digest", "client_address", "issued_at"],
                    select(
                        literal(session_digest(session_id)),
                        literal(address),
                        literal(now, UTCDateTime()),
                    ).where(issued_recently < self._per_address),
                )
            ),
        )
        return bool(inserted.rowcount)


async def issued_address(session: AsyncSession, sender_id: str) -> str | None:
    """The address ``sender_id`` was issued to; None if not a recorded web chat id."""
    address: str | None = await session.scalar(
        select(ChatSession.client_address).where(
            ChatSession.digest == session_digest(sender_id)
        )
    )
    return address


async def purge_chat_sessions(
    sessions: async_sessionmaker[AsyncSession], before: datetime
) -> int:
    async with sessions.begin() as session:
        purged = cast(
            CursorResult[Any],
            await session.execute(
                delete(ChatSession).where(ChatSession.issued_at < before)
            ),
        )
    return int(purged.rowcount)


def _recent(address: str, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        ChatSession.client_address == address,
        ChatSession.issued_at > now - WINDOW,
    )
