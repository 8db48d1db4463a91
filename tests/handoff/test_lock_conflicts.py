"""Transactions PostgreSQL aborts as deadlock victims run again, on the real
database: two transactions lock the same two handoffs in opposite orders, one
loses, and both changes land."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from postgres_databases import fresh_postgres_database
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.observability.metrics import ServiceMetrics
from handoff.queue.state_machine import Transitions
from handoff.queue.states import HandoffStatus
from handoff.realtime.group_commit import GroupCommitter
from handoff.realtime.live_feed import EVERYONE, Audience, LiveFeed
from handoff.storage.contention import is_contention
from handoff.storage.models import Handoff, utcnow

pytestmark = pytest.mark.postgres


class QuietFeed(LiveFeed):
    async def publish(
        self, frame: dict[str, Any], audience: Audience = EVERYONE
    ) -> None:
        return None


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def two_handoffs(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    handoffs = [
        Handoff(
            sender_id=f"customer-{index}",
            channel="socketio",
            language="ko",
            reason="human_requested",
            status=HandoffStatus.QUEUED,
            context={},
            last_customer_activity_at=utcnow(),
        )
        for index in range(2)
    ]
    async with sessions.begin() as session:
        session.add_all(handoffs)
    return handoffs[0].id, handoffs[1].id


async def lock_then_lock(
    session: AsyncSession,
    first: int,
    second: int,
    reason: str,
    both_hold_one: asyncio.Barrier,
    runs: Counter[str],
) -> None:
    """Holds ``first``'s row, waits until the other transaction holds its first
    row too (on the first run only), then takes ``second``'s."""
    runs[reason] += 1
    await session.execute(
        select(Handoff.id).where(Handoff.id == first).with_for_update()
    )
    if runs[reason] == 1:
        await both_hold_one.wait()
    await session.execute(
        update(Handoff).where(Handoff.id == second).values(reason=reason)
    )


async def test_a_deadlock_victim_runs_again_and_both_changes_land(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = await two_handoffs(sessions)
    metrics = ServiceMetrics()
    transitions = Transitions(sessions, QuietFeed(), metrics)
    both_hold_one = asyncio.Barrier(2)
    runs: Counter[str] = Counter()

    async def change(one: int, other: int, reason: str) -> None:
        async for attempt in transitions.attempts():
            async with attempt as changes:
                await lock_then_lock(
                    changes.session, one, other, reason, both_hold_one, runs
                )

    await asyncio.wait_for(
        asyncio.gather(
            change(first, second, "first_then_second"),
            change(second, first, "second_then_first"),
        ),
        30,
    )

    assert sorted(runs.values()) == [1, 2], runs
    assert metrics.transaction_retries._value.get() == 1
    async with sessions() as session:
        reasons = set((await session.scalars(select(Handoff.reason))).all())
    assert reasons == {"first_then_second", "second_then_first"}


async def test_a_deadlock_victim_of_group_commit_runs_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = await two_handoffs(sessions)
    both_hold_one = asyncio.Barrier(2)
    runs: Counter[str] = Counter()

    def unit(one: int, other: int, reason: str) -> Any:
        async def work(session: AsyncSession) -> str:
            await lock_then_lock(session, one, other, reason, both_hold_one, runs)
            return reason

        return work

    # Two committers: two transactions at once, as on two service instances.
    results = await asyncio.wait_for(
        asyncio.gather(
            GroupCommitter(sessions).run(unit(first, second, "first_then_second")),
            GroupCommitter(sessions).run(unit(second, first, "second_then_first")),
        ),
        30,
    )

    assert results == ["first_then_second", "second_then_first"]
    assert sorted(runs.values()) == [1, 2], runs


async def test_other_failures_are_not_run_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, _ = await two_handoffs(sessions)
    transitions = Transitions(sessions, QuietFeed(), ServiceMetrics())
    runs = 0
    with pytest.raises(IntegrityError):
        async for attempt in transitions.attempts():
            async with attempt as changes:
                runs += 1
                await changes.session.execute(
                    update(Handoff).where(Handoff.id == first).values(sender_id=None)
                )
    assert runs == 1


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (asyncpg.exceptions.DeadlockDetectedError("deadlock detected"), True),
        (asyncpg.exceptions.SerializationError("could not serialize"), True),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (ValueError("not the database"), False),
    ],
    ids=["deadlock", "serialization", "unique", "other"],
)
def test_which_failures_count_as_a_lost_conflict(
    error: Exception, retried: bool
) -> None:
    wrapped = DBAPIError("UPDATE handoffs", {}, error)
    assert is_contention(wrapped) is retried
    assert is_contention(error) is retried
