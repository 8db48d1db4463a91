"""What the service reports as it is at scrape time: the queue, sockets, the pool.

The queue is shared by every service instance on one database, so its length and
longest wait per skill are read from the database (one grouped query on the
queue's index), at most once per ``QUEUE_CACHE_SECONDS`` however often and by
however many scrapers it is asked; each instance then reports the same numbers
(aggregate them with ``max``, not ``sum``). Live-feed sockets and the connection
pool belong to this instance and are read from memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool

from handoff.queue.states import HandoffStatus
from handoff.realtime.live_feed import LiveFeed
from handoff.storage.models import Handoff, utcnow
from handoff.vocabulary import Skill

logger = logging.getLogger(__name__)

QUEUE_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class QueueSnapshot:
    queued: dict[Skill, int]
    oldest_queued_at: dict[Skill, datetime]


async def read_queue(sessions: async_sessionmaker[AsyncSession]) -> QueueSnapshot:
    async with sessions() as session:
        rows = await session.execute(
            select(Handoff.skill, func.count(), func.min(Handoff.created_at))
            .where(Handoff.status == HandoffStatus.QUEUED)
            .group_by(Handoff.skill)
        )
        queued: dict[Skill, int] = {}
        oldest: dict[Skill, datetime] = {}
        for skill, count, oldest_created_at in rows:
            queued[skill] = count
            oldest[skill] = oldest_created_at
    return QueueSnapshot(queued, oldest)


class ScrapeTimeGauges(Collector):
    """A collector: ``refresh()`` (async) before each scrape, then ``collect()``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        feed: LiveFeed,
        *,
        cache_seconds: float = QUEUE_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        self._feed = feed
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._snapshot: QueueSnapshot | None = None
        self._read_at: float | None = None
        self._read_ok = False
        self._reading = asyncio.Lock()

    async def refresh(self) -> None:
        """Reads the queue unless a read younger than the cache is at hand."""
        async with self._reading:
            if self._read_at is not None and (
                self._clock() - self._read_at < self._cache_seconds
            ):
                return
            try:
                self._snapshot = await read_queue(self._sessions)
            except (SQLAlchemyError, OSError) as error:
                # The last numbers read stay, marked stale by the ok gauge.
                logger.warning("metrics: the queue could not be read: %r", error)
                self._read_ok = False
            else:
                self._read_ok = True
            self._read_at = self._clock()

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from self._queue()
        sockets = GaugeMetricFamily(
            "tandem_service_websocket_connections",
            "Agents' live-feed WebSockets open on this instance.",
        )
        sockets.add_metric([], len(self._feed))
        yield sockets
        yield from self._pool()

    def _queue(self) -> Iterator[Metric]:
        read_ok = GaugeMetricFamily(
            "tandem_service_queue_read_ok",
            "1 when the latest read of the queue from the database succeeded.",
        )
        read_ok.add_metric([], 1 if self._read_ok else 0)
        yield read_ok
        snapshot = self._snapshot
        if snapshot is None:
            return
        length = GaugeMetricFamily(
            "tandem_service_queue_length",
            "Handoffs waiting in each skill queue (all instances, from the database).",
            labels=["skill"],
        )
        longest = GaugeMetricFamily(
            "tandem_service_queue_longest_wait_seconds",
            "How long the longest-waiting customer of each skill queue has "
            "waited; 0 when nobody waits.",
            labels=["skill"],
        )
        now = utcnow()
        for skill in Skill:
            length.add_metric([skill.value], snapshot.queued.get(skill, 0))
            oldest = snapshot.oldest_queued_at.get(skill)
            waited = 0.0 if oldest is None else (now - oldest).total_seconds()
            longest.add_metric([skill.value], max(0.0, waited))
        yield length
        yield longest

    def _pool(self) -> Iterator[Metric]:
        pool = self._engine.sync_engine.pool
        if not isinstance(pool, QueuePool):
            return
        for name, documentation, value in (
            (
                "tandem_service_db_pool_checked_out",
                "Database connections in use by this instance.",
                pool.checkedout(),
            ),
            (
                "tandem_service_db_pool_size",
                "Connections this instance's pool keeps open.",
                pool.size(),
            ),
            (
                "tandem_service_db_pool_overflow",
                "Connections open beyond the pool size (up to its overflow limit).",
                max(0, pool.overflow()),
            ),
        ):
            gauge = GaugeMetricFamily(name, documentation)
            gauge.add_metric([], value)
            yield gauge
