"""The queue the Kakao task checks wait in, the same contract in memory, in SQLite
and in the machine's real Redis: due checks are handed out once per lease, advanced
or removed by the server that took them, and outlive the object that queued them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from bot.channels.kakao_check_queue import (
    CheckQueue,
    FileCheckQueue,
    MemoryCheckQueue,
    PendingCheck,
    RedisCheckQueue,
)
from tests.bot.redis_fixtures import client, prefix

__all__ = ["client", "prefix"]

NOW = 1_800_000_000.0


@pytest.fixture(params=["memory", "file", "redis"])
async def queue(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    client: redis.asyncio.Redis,
    prefix: str,
) -> AsyncIterator[CheckQueue]:
    if request.param == "memory":
        yield MemoryCheckQueue()
    elif request.param == "file":
        file_queue = FileCheckQueue(tmp_path / "channel_state.db")
        yield file_queue
        file_queue.close()
    else:
        yield RedisCheckQueue(client, prefix)


def check(message_id: int, *task_ids: str) -> PendingCheck:
    return PendingCheck(message_id, "user", task_ids or ("t",), delay=10.0)


async def test_only_due_checks_are_taken_soonest_first_and_at_most_the_limit(
    queue: CheckQueue,
) -> None:
    await queue.put(check(3), NOW + 3)
    await queue.put(check(1), NOW + 1)
    await queue.put(check(2), NOW + 2)
    await queue.put(check(9), NOW + 9)

    assert await queue.take_due(NOW, 10) == []
    taken = await queue.take_due(NOW + 5, 2)

    assert [item.message_id for item in taken] == [1, 2]
    assert await queue.size() == 4


async def test_a_taken_check_is_not_taken_again_until_its_lease_is_over(
    queue: CheckQueue,
) -> None:
    queued = check(1, "a", "b")
    await queue.put(queued, NOW)

    assert await queue.take_due(NOW, 5, lease=60) == [queued]
    assert await queue.take_due(NOW + 59, 5, lease=60) == []
    assert await queue.take_due(NOW + 60, 5, lease=60) == [queued]


async def test_advancing_replaces_the_round_and_removing_ends_it(
    queue: CheckQueue,
) -> None:
    first = check(1, "a", "b")
    await queue.put(first, NOW)
    [taken] = await queue.take_due(NOW, 5)
    second = taken.next_round(("b",), 20.0)

    await queue.advance(taken, second, NOW + 20)

    assert await queue.size() == 1
    assert await queue.take_due(NOW + 19, 5) == []
    [again] = await queue.take_due(NOW + 20, 5)
    assert (again.id, again.task_ids, again.rounds_done, again.delay) == (
        first.id,
        ("b",),
        1,
        20.0,
    )
    await queue.remove(again)
    assert await queue.size() == 0
    assert await queue.take_due(NOW + 1000, 5) == []


async def test_the_file_queue_outlives_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "channel_state.db"
    first = FileCheckQueue(path)
    queued = check(7, "x")
    await first.put(queued, NOW)
    first.close()

    reopened = FileCheckQueue(path)
    assert await reopened.take_due(NOW, 5) == [queued]
    reopened.close()


async def test_an_entry_that_is_not_a_check_is_dropped(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    queue = RedisCheckQueue(client, prefix)
    await client.zadd(queue.key, {b"\xff": NOW, b'{"id": 1}': NOW, b"[]": NOW})
    await queue.put(check(1), NOW)

    assert [item.message_id for item in await queue.take_due(NOW, 10)] == [1]
    assert await queue.size() == 1


def test_a_check_survives_its_encoding() -> None:
    queued = PendingCheck(5, "user", ("a", "b"), rounds_done=2, delay=40.0)
    assert PendingCheck.decoded(queued.encoded()) == queued
    with pytest.raises(ValueError):
        PendingCheck.decoded('{"message_id": "x"}')
