"""Customers' requests refused by a limit, kept for the supervisors' numbers.

The service records the handoffs and ratings it refuses; the bot reports the
one-time codes and phone numbers it refuses (POST /api/rasa/refusals).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.models import Refusal, utcnow
from handoff.vocabulary import RefusalKind


class RefusalLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def record(self, sender_id: str, kind: RefusalKind) -> Refusal:
        # Its own transaction: the refused request's was rolled back.
        async with self._sessions.begin() as session:
            refusal = Refusal(kind=kind.value, sender_id=sender_id, created_at=utcnow())
            session.add(refusal)
        return refusal
