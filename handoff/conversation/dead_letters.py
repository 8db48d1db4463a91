"""Events from the bot that could not be taken, kept for the supervisors.

An event is refused on its own (a sender id too long, metadata of the wrong
shape) and the rest of its batch is ingested. The refused one is kept here
with the reason, and so is a gap the broker reports (events it dropped while
the service was away). The broker resends a batch it has no answer for, so a
dead letter is keyed by a digest of its whole event and kept once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.api.validation import DeadLetterQuery, EventBatch
from handoff.storage.db import insert_ignoring_conflicts
from handoff.storage.models import DeadLetter, utcnow

# What is kept of an event: enough to see what was wrong with it.
MAX_STORED_EVENT_CHARS = 4000
MAX_STORED_SENDER_ID_CHARS = 255


@dataclass(frozen=True)
class DeadLetterPage:
    dead_letters: Sequence[DeadLetter]
    # The ``before`` of the next page; None on the last.
    next_before: int | None


class DeadLetters:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def keep(self, batch: EventBatch) -> None:
        """Stores the batch's refused events and the gap before it, if any."""
        now = utcnow()
        rows = [
            _row(_sender_id(refused.event), refused.reason, refused.event, now)
            for refused in batch.refused
        ]
        if batch.dropped:
            # The first event after the gap tells this gap from a later one of
            # the same size; a resent batch names the same one.
            gap = {"dropped": batch.dropped, "next_event": _first(batch)}
            reason = (
                f"the bot's event buffer was full: {batch.dropped} events were "
                "dropped before this batch"
            )
            rows.append(_row(None, reason, gap, now))
        if not rows:
            return
        async with self._sessions.begin() as session:
            dialect_name = session.get_bind().dialect.name
            await session.execute(
                insert_ignoring_conflicts(dialect_name, DeadLetter).values(rows)
            )

    async def page(self, query: DeadLetterQuery) -> DeadLetterPage:
        """Newest first, from just before ``query.before``."""
        statement = select(DeadLetter).order_by(DeadLetter.id.desc())
        if query.before is not None:
            statement = statement.where(DeadLetter.id < query.before)
        async with self._sessions() as session:
            found = (await session.scalars(statement.limit(query.limit + 1))).all()
        shown = found[: query.limit]
        more = len(found) > query.limit
        return DeadLetterPage(shown, shown[-1].id if more else None)


def _row(
    sender_id: str | None, reason: str, event: Any, now: datetime
) -> dict[str, Any]:
    encoded = json.dumps(event, ensure_ascii=False, sort_keys=True)
    return {
        "received_at": now,
        "sender_id": sender_id,
        "reason": reason[:500],
        "event": encoded[:MAX_STORED_EVENT_CHARS],
        "event_sha256": hashlib.sha256(encoded.encode("utf-8")).hexdigest(),
    }


def _sender_id(event: Any) -> str | None:
    sender_id = event.get("sender_id") if isinstance(event, dict) else None
    if not isinstance(sender_id, str):
        return None
    # PostgreSQL refuses NUL in text; the raw event keeps it, escaped as JSON.
    return sender_id.replace("\x00", "\ufffd")[:MAX_STORED_SENDER_ID_CHARS]


def _first(batch: EventBatch) -> Any:
    """An event of the batch, the same one whenever the batch is resent."""
    if batch.raw_events:
        return batch.raw_events[0]
    return batch.refused[0].event if batch.refused else None
