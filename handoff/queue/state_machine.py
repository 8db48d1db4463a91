"""The one way a handoff changes status: a guarded UPDATE, recorded and announced.

``Changes.move`` is the only code that writes a stored handoff's status (the
model refuses an ORM assignment). It issues ``UPDATE handoffs … WHERE id = …
AND status = <source>`` plus whatever the caller adds (the owner it expects,
the silence it saw), where the source is a state the table in
``handoff.queue.states`` allows to reach the target; so of two racing changes
exactly one lands, and the loser learns it from the answer instead of
overwriting the winner. The columns that go with the target come in the same
statement. The winner's step is written to ``handoff_transitions`` with who
took it and why, in the same transaction. ``reassign`` changes the owner
without changing the status (a transfer from one agent to another, an offline
request taken) and records that step too, so the table holds who owned the
handoff at every moment: the supervisors' handle time per agent is read from it.

A ``Changes`` exists only inside one of the two commit paths of this module:
``Transitions.attempts()`` (a transaction of the service layer, run again when
PostgreSQL aborts it for a lock conflict) and
``Transitions.run()`` (a unit of group commit). ``move`` and ``announce`` only
queue their live-feed frames on it; the commit path publishes them once the
transaction has committed, and drops them when it rolls back. So a frame can
neither go out for a change that was not stored nor be forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from handoff.api.presenters import handoff_frame
from handoff.observability.metrics import ServiceMetrics
from handoff.queue.order import queue_position
from handoff.queue.states import HandoffStatus, ensure_allowed, sources_of
from handoff.realtime.group_commit import GroupCommitter
from handoff.realtime.live_feed import EVERYONE, Audience, LiveFeed
from handoff.storage.contention import MAX_ATTEMPTS, is_contention, pause_before_retry
from handoff.storage.models import Handoff, HandoffTransition, utcnow
from handoff.vocabulary import Skill, TransitionActor, TransitionReason

T = TypeVar("T")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who takes a step: an agent, or a part of the system."""

    kind: TransitionActor
    agent_id: int | None = None

    @classmethod
    def agent(cls, agent_id: int) -> Actor:
        return cls(TransitionActor.AGENT, agent_id)


BOT = Actor(TransitionActor.BOT)
DISPATCHER = Actor(TransitionActor.DISPATCHER)
SWEEPER = Actor(TransitionActor.SWEEPER)
INGEST = Actor(TransitionActor.INGEST)
DIRECTORY = Actor(TransitionActor.DIRECTORY)


@dataclass
class Changes:
    """One transaction's status changes, and the frames that announce them."""

    session: AsyncSession
    _frames: list[tuple[dict[str, Any], Audience]] = field(default_factory=list)
    # Customers taken from the queue: their skill and how long they waited.
    _assignments: list[tuple[Skill, float]] = field(default_factory=list)

    def announce(self, frame: dict[str, Any], audience: Audience = EVERYONE) -> None:
        """Publishes ``frame`` once this transaction has committed."""
        self._frames.append((frame, audience))

    async def open(self, handoff: Handoff, by: Actor) -> None:
        """Stores a new handoff and records the state it starts in."""
        self.session.add(handoff)
        await self.session.flush()
        self._record(handoff, None, by, TransitionReason.REQUESTED)

    async def move(
        self,
        handoff_id: int,
        target: HandoffStatus,
        *,
        by: Actor,
        reason: TransitionReason,
        source: HandoffStatus | None = None,
        where: Sequence[ColumnElement[bool]] = (),
        values: Mapping[str, Any] | None = None,
        announce_position: bool = False,
    ) -> Handoff | None:
        """Moves the handoff from ``source`` to ``target`` if it is still there
        and ``where`` holds; the handoff as it now is, or None when it was not.

        ``source`` may be left out when only one state leads to ``target``.
        ``values`` are the other columns to set with the status. The frame
        carries the handoff's queue position when ``announce_position`` asks.
        """
        if source is None:
            (source,) = sources_of(target)
        ensure_allowed(source, target)
        if not await self._update(
            handoff_id,
            [Handoff.status == source, *where],
            {**(values or {}), "status": target},
        ):
            return None
        handoff = await self.session.get_one(
            Handoff, handoff_id, populate_existing=True
        )
        self._record(handoff, source, by, reason)
        if (
            source is HandoffStatus.QUEUED
            and target is HandoffStatus.ASSIGNED
            and handoff.assigned_at is not None
        ):
            waited = handoff.assigned_at - handoff.created_at
            self._assignments.append((handoff.skill, waited.total_seconds()))
        position = (
            await queue_position(self.session, handoff) if announce_position else None
        )
        self.announce(handoff_frame("handoff.updated", handoff, position))
        return handoff

    async def reassign(
        self,
        handoff_id: int,
        *,
        by: Actor,
        reason: TransitionReason,
        where: Sequence[ColumnElement[bool]],
        values: Mapping[str, Any],
    ) -> Handoff | None:
        """Gives the handoff another owner (or queue) in the state it is in, if
        ``where`` holds, and records the step; the handoff as it now is, or
        None when it was not changed. Announcing it is the caller's."""
        if "status" in values:
            raise ValueError("a handoff's status changes only with move()")
        if not await self._update(handoff_id, where, values):
            return None
        handoff = await self.session.get_one(
            Handoff, handoff_id, populate_existing=True
        )
        self._record(handoff, handoff.status, by, reason)
        return handoff

    async def _update(
        self,
        handoff_id: int,
        where: Sequence[ColumnElement[bool]],
        values: Mapping[str, Any],
    ) -> bool:
        result = cast(
            CursorResult[Any],
            await self.session.execute(
                update(Handoff)
                .where(Handoff.id == handoff_id, *where)
                .values(**values)
                .execution_options(synchronize_session=False)
            ),
        )
        return result.rowcount == 1

    def _record(
        self,
        handoff: Handoff,
        source: HandoffStatus | None,
        by: Actor,
        reason: TransitionReason,
    ) -> None:
        self.session.add(
            HandoffTransition(
                handoff_id=handoff.id,
                from_status=source,
                to_status=handoff.status,
                actor=by.kind,
                agent_id=by.agent_id,
                reason=reason,
                assigned_agent_id=handoff.assigned_agent_id,
                created_at=utcnow(),
            )
        )

    async def _committed(self, feed: LiveFeed, metrics: ServiceMetrics | None) -> None:
        if metrics is not None:
            for skill, waited in self._assignments:
                metrics.handoff_assigned(skill, waited)
        for frame, audience in self._frames:
            await feed.publish(frame, audience)


class Transitions:
    """The commit paths of status changes: each publishes after its commit, and
    counts the waits of the customers it took from the queue."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        feed: LiveFeed,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._feed = feed
        self._metrics = metrics

    def attempts(self) -> Attempts:
        """Transactions of the service layer that run again when PostgreSQL
        aborts one for a lock conflict (handoff.storage.contention)::

            async for attempt in transitions.attempts():
                async with attempt as changes:
                    ...

        The block must start from nothing it changed in an earlier attempt.
        """
        return Attempts(self._sessions, self._feed, self._metrics)

    async def run(
        self, committer: GroupCommitter, work: Callable[[Changes], Awaitable[T]]
    ) -> T:
        """``work``'s result, as a unit of group commit, once committed."""

        async def unit(session: AsyncSession) -> tuple[T, Changes]:
            # A unit may run again after its group failed: fresh frames each time.
            changes = Changes(session)
            return await work(changes), changes

        result, changes = await committer.run(unit)
        await changes._committed(self._feed, self._metrics)
        return result


class Attempts:
    """The attempts of one transaction: a new one only after the last lost a
    lock conflict, at most ``MAX_ATTEMPTS`` in all."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        feed: LiveFeed,
        metrics: ServiceMetrics | None,
    ) -> None:
        self._sessions = sessions
        self._feed = feed
        self._metrics = metrics
        self._made = 0
        self._finished = False

    def __aiter__(self) -> Attempts:
        return self

    async def __anext__(self) -> Attempt:
        if self._finished:
            raise StopAsyncIteration
        if self._made:
            await pause_before_retry(self._made)
        self._made += 1
        return Attempt(self, last=self._made >= MAX_ATTEMPTS)

    def _finish(self) -> None:
        self._finished = True


class Attempt:
    """One transaction: commits and publishes, or lets the next attempt run."""

    def __init__(self, attempts: Attempts, *, last: bool) -> None:
        self._attempts = attempts
        self._last = last
        self._transaction: Any = None
        self._changes: Changes | None = None

    async def __aenter__(self) -> Changes:
        self._transaction = self._attempts._sessions.begin()
        session = await self._transaction.__aenter__()
        self._changes = Changes(session)
        return self._changes

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        try:
            await self._transaction.__aexit__(kind, error, traceback)
        except Exception as commit_failed:
            failure: BaseException | None = commit_failed
        else:
            failure = error
        if failure is None:
            self._attempts._finish()
            assert self._changes is not None
            await self._changes._committed(
                self._attempts._feed, self._attempts._metrics
            )
            return False
        if isinstance(failure, Exception) and is_contention(failure) and not self._last:
            logger.info("transaction lost a lock conflict; running it again")
            if self._attempts._metrics is not None:
                self._attempts._metrics.transaction_retries.inc()
            return True
        self._attempts._finish()
        if failure is error:
            return False
        raise failure
