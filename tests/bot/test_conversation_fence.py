"""Fencing a conversation's saves with its lock's ticket: a save older than one
already written is refused and stores nothing, on SQLite and on the real PostgreSQL;
and two servers on the clustered endpoints (PostgreSQL and the real Redis), the first
of which loses its lock while it stalls, cannot overwrite the second's turn."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import pytest
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from bot.conversation_fence import StaleTurn, held_ticket, holding
from bot.lock_store import RedisTicketLockStore
from bot.tracker_store import TandemSQLTrackerStore
from tests.bot.test_cluster_endpoints import POSTGRES_URL, endpoints, tracker_database

__all__ = ["endpoints", "tracker_database"]


async def test_a_held_ticket_is_known_in_the_block_and_to_the_tasks_it_starts() -> None:
    assert held_ticket("a") is None
    with holding("a", 7):
        with holding("b", 9):
            assert (held_ticket("a"), held_ticket("b")) == (7, 9)
            started = await asyncio.create_task(_held_later("b"))
        assert (held_ticket("a"), held_ticket("b")) == (7, None)
    assert held_ticket("a") is None
    assert started == 9


async def _held_later(conversation_id: str) -> int | None:
    await asyncio.sleep(0)
    return held_ticket(conversation_id)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def trackers(request: pytest.FixtureRequest, tmp_path: Path) -> TandemSQLTrackerStore:
    if request.param == "sqlite":
        return TandemSQLTrackerStore(Domain.empty(), db=str(tmp_path / "t.db"))
    database = request.getfixturevalue("tracker_database")
    return TandemSQLTrackerStore(
        Domain.empty(),
        dialect="postgresql",
        host=POSTGRES_URL.host,
        port=POSTGRES_URL.port or 5432,
        db=database,
        username=POSTGRES_URL.username,
        password=POSTGRES_URL.password or "",
    )


def said(tracker: Any) -> list[str]:
    return [event.text for event in tracker.events if isinstance(event, BotUttered)]


async def test_a_save_older_than_one_written_is_refused_and_stores_nothing(
    trackers: TandemSQLTrackerStore,
) -> None:
    conversation = f"fence-{secrets.token_hex(4)}"
    tracker = await trackers.get_or_create_tracker(conversation)

    for ticket, text in ((10, "first"), (10, "same turn"), (12, "next turn")):
        tracker.update(BotUttered(text))
        with holding(conversation, ticket):
            await trackers.save(tracker)

    stale = await trackers.retrieve(conversation)
    assert stale is not None
    stale.update(BotUttered("stale"))
    with holding(conversation, 11), pytest.raises(StaleTurn, match="lapsed"):
        await trackers.save(stale)

    stored = await trackers.retrieve(conversation)
    assert said(stored) == ["first", "same turn", "next turn"]
    # A save without the lock (no ticket) is not fenced.
    stored.update(BotUttered("unlocked"))
    await trackers.save(stored)
    assert said(await trackers.retrieve(conversation))[-1] == "unlocked"
    trackers.engine.dispose()


async def test_a_stalled_servers_turn_cannot_overwrite_the_next_servers_turn(
    endpoints: AvailableEndpoints,
) -> None:
    domain = Domain.empty()
    stalled_trackers = TrackerStore.create(endpoints.tracker_store, domain=domain)
    other_trackers = TrackerStore.create(endpoints.tracker_store, domain=domain)
    stalled_locks = LockStore.create(endpoints.lock_store)
    other_locks = LockStore.create(endpoints.lock_store)
    assert isinstance(stalled_locks, RedisTicketLockStore)
    conversation = f"fence-{secrets.token_hex(4)}"
    first = await stalled_trackers.get_or_create_tracker(conversation)
    first.update(ActionExecuted("action_listen"))
    await stalled_trackers.save(first)

    try:
        with pytest.raises(StaleTurn):
            async with stalled_locks.lock(conversation):
                turn = await stalled_trackers.retrieve(conversation)
                assert turn is not None
                # The server stalls for longer than its lease: its ticket lapses.
                tickets, deadlines, _ = stalled_locks.keys(conversation)
                await stalled_locks.redis.delete(tickets, deadlines)

                async with other_locks.lock(conversation):
                    other_turn = await other_trackers.retrieve(conversation)
                    assert other_turn is not None
                    other_turn.update(UserUttered("요금 알려 주세요"))
                    other_turn.update(BotUttered("55,000원이에요"))
                    await other_trackers.save(other_turn)

                turn.update(UserUttered("해지할게요"))
                turn.update(BotUttered("stale answer"))
                await stalled_trackers.save(turn)
    finally:
        await stalled_locks.close()
        await other_locks.close()

    stored = await other_trackers.retrieve(conversation)
    assert stored is not None
    assert said(stored) == ["55,000원이에요"]
    assert [e.text for e in stored.events if isinstance(e, UserUttered)] == [
        "요금 알려 주세요"
    ]
