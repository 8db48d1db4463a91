"""The background sweeper: queue timeouts, no-reply flags, wait updates and a
catch-up dispatch, every few seconds; and, once an hour, the purge of transcripts
older than the retention period.

Several service instances may sweep the same database at once. Every change
is a conditional UPDATE that only one of them can win (for the abandon, the
state machine's guarded move), and only the winner announces it or calls Rasa,
so nothing is done twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.api.presenters import handoff_frame
from handoff.conversation.chat_session_limits import purge_chat_sessions
from handoff.conversation.customer_data import CustomerData, Purged
from handoff.conversation.customer_notices import changed_materially, wait_update_text
from handoff.conversation.rasa_client import RasaGateway
from handoff.errors import RasaUnavailable
from handoff.queue.assignment import Dispatcher
from handoff.queue.order import queue_positions
from handoff.queue.queue_snapshot import read_queue_snapshot
from handoff.queue.state_machine import SWEEPER, Transitions
from handoff.queue.states import HandoffStatus
from handoff.queue.wait_estimate import expected_waits
from handoff.realtime.live_feed import LiveFeed
from handoff.staff.permissions import audience_for
from handoff.storage.models import Handoff, utcnow
from handoff.vocabulary import Resolution, TransitionReason

logger = logging.getLogger(__name__)

NOTICE_INTERVAL = timedelta(minutes=1)
# The purge deletes by age over whole tables; hourly keeps it off every sweep.
PURGE_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class SweepTimings:
    interval_seconds: float
    # A queued customer silent this long is taken to have left.
    abandon_after: timedelta
    # An assigned customer waiting this long for a reply is flagged.
    flag_after: timedelta
    # Transcripts older than this are purged.
    transcript_retention: timedelta
    # Records of issued web chat session ids older than this are purged.
    chat_session_retention: timedelta


@dataclass(frozen=True)
class SweepResult:
    abandoned: list[int]
    flagged: list[int]
    notified: list[int]
    assigned: list[int]
    # None when the last purge is less than PURGE_INTERVAL old.
    purged: Purged | None
    purged_chat_sessions: int | None


class Sweeper:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaGateway,
        feed: LiveFeed,
        dispatcher: Dispatcher,
        timings: SweepTimings,
        customer_data: CustomerData,
    ) -> None:
        self._sessions = sessions
        self._transitions = Transitions(sessions, feed)
        self._rasa = rasa
        self._feed = feed
        self._dispatcher = dispatcher
        self._timings = timings
        self._customer_data = customer_data
        self._purged_at: datetime | None = None

    async def run_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                # A database hiccup must not end the sweeping for good.
                logger.exception("the sweep failed; trying again next time")
            await asyncio.sleep(self._timings.interval_seconds)

    async def sweep(self, now: datetime | None = None) -> SweepResult:
        now = now or utcnow()
        abandoned = await self._abandon_silent(now)
        flagged = await self._flag_unanswered(now)
        notified = await self._update_waiting(now)
        assigned = await self._dispatcher.dispatch()
        return SweepResult(
            abandoned=abandoned,
            flagged=flagged,
            notified=notified,
            assigned=[handoff.id for handoff in assigned],
            purged_chat_sessions=await self._purge_chat_sessions(now),
            purged=await self._purge_transcripts(now),
        )

    async def _purge_transcripts(self, now: datetime) -> Purged | None:
        if self._purged_at is not None and now - self._purged_at < PURGE_INTERVAL:
            return None
        purged = await self._customer_data.purge_transcripts(
            now - self._timings.transcript_retention
        )
        self._purged_at = now
        return purged

    async def _purge_chat_sessions(self, now: datetime) -> int | None:
        # Hourly like the transcripts; the transcripts' purge keeps the hour.
        if self._purged_at is not None and now - self._purged_at < PURGE_INTERVAL:
            return None
        return await purge_chat_sessions(
            self._sessions, now - self._timings.chat_session_retention
        )

    async def _abandon_silent(self, now: datetime) -> list[int]:
        silent = Handoff.last_customer_activity_at <= now - self._timings.abandon_after
        async with self._sessions.begin() as session:
            candidates = (
                await session.scalars(
                    select(Handoff.id).where(
                        Handoff.status == HandoffStatus.QUEUED, silent
                    )
                )
            ).all()
        abandoned: list[Handoff] = []
        for handoff_id in candidates:
            async for attempt in self._transitions.attempts():
                async with attempt as changes:
                    handoff = await changes.move(
                        handoff_id,
                        HandoffStatus.ABANDONED,
                        by=SWEEPER,
                        reason=TransitionReason.TIMED_OUT,
                        where=[silent],
                        values={"resolution": Resolution.TIMED_OUT, "resolved_at": now},
                    )
            if handoff is not None:
                abandoned.append(handoff)
        for handoff in abandoned:
            try:
                await self._rasa.resume(handoff.sender_id)
            except RasaUnavailable:
                logger.warning("could not resume the bot for handoff %s", handoff.id)
        return [handoff.id for handoff in abandoned]

    async def _flag_unanswered(self, now: datetime) -> list[int]:
        flagged = await self._claim_each(
            (
                Handoff.status == HandoffStatus.ASSIGNED,
                Handoff.flagged_at.is_(None),
                Handoff.awaiting_agent_since <= now - self._timings.flag_after,
            ),
            {"flagged_at": now},
        )
        for handoff in flagged:
            await self._feed.publish(
                {
                    **handoff_frame("handoff.flagged", handoff, None),
                    "waiting_since": handoff.awaiting_agent_since.isoformat()
                    if handoff.awaiting_agent_since
                    else None,
                },
                audience_for(handoff),
            )
        return [handoff.id for handoff in flagged]

    async def _update_waiting(self, now: datetime) -> list[int]:
        due = now - NOTICE_INTERVAL
        async with self._sessions.begin() as session:
            waiting = (
                await session.scalars(
                    select(Handoff).where(
                        Handoff.status == HandoffStatus.QUEUED,
                        or_(Handoff.notice_at.is_(None), Handoff.notice_at <= due),
                    )
                )
            ).all()
            if not waiting:
                return []
            positions = await queue_positions(session)
            waits = expected_waits(await read_queue_snapshot(session, now))
            news: list[tuple[Handoff, int, int | None]] = []
            for handoff in waiting:
                position = positions.get(handoff.id)
                if position is None:
                    continue
                wait = waits.get(handoff.id)
                if changed_materially(
                    handoff.notice_position,
                    handoff.notice_wait_seconds,
                    position,
                    wait,
                ):
                    news.append((handoff, position, wait))
        notified = []
        for handoff, position, wait in news:
            if not await self._claim_notice(handoff, due, now, position, wait):
                continue
            try:
                await self._rasa.send_notice(
                    handoff.sender_id,
                    wait_update_text(handoff.language, position, wait),
                )
            except RasaUnavailable:
                logger.warning("could not tell handoff %s its wait", handoff.id)
                continue
            notified.append(handoff.id)
        return notified

    async def _claim_notice(
        self,
        handoff: Handoff,
        due: datetime,
        now: datetime,
        position: int,
        wait: int | None,
    ) -> bool:
        # Only the instance whose update lands sends the message.
        async with self._sessions.begin() as session:
            result = cast(
                CursorResult[Any],
                await session.execute(
                    update(Handoff)
                    .where(
                        Handoff.id == handoff.id,
                        Handoff.status == HandoffStatus.QUEUED,
                        or_(Handoff.notice_at.is_(None), Handoff.notice_at <= due),
                    )
                    .values(
                        notice_at=now,
                        notice_position=position,
                        notice_wait_seconds=wait,
                    )
                    .execution_options(synchronize_session=False)
                ),
            )
        return result.rowcount == 1

    async def _claim_each(
        self, condition: tuple[Any, ...], values: dict[str, Any]
    ) -> list[Handoff]:
        async with self._sessions.begin() as session:
            candidates = (
                await session.scalars(select(Handoff.id).where(*condition))
            ).all()
        won: list[Handoff] = []
        for handoff_id in candidates:
            async with self._sessions.begin() as session:
                result = cast(
                    CursorResult[Any],
                    await session.execute(
                        update(Handoff)
                        .where(Handoff.id == handoff_id, *condition)
                        .values(**values)
                        .execution_options(synchronize_session=False)
                    ),
                )
                if result.rowcount == 1:
                    won.append(await session.get_one(Handoff, handoff_id))
        return won
