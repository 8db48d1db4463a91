"""The conversation lock across Rasa servers, against the real Redis server.

Rasa 3.6's RedisLockStore lets two servers hold one conversation when both read the
lock before either writes it; bot.lock_store.RedisTicketLockStore holds in that
interleaving, in every interleaving of the first commands of two servers, and under
two processes of many coroutines each.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing

import pytest
import redis.asyncio
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import number_of_sanic_workers
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import CHECK_IN, ISSUE, RedisTicketLockStore
from tests.bot.lock_contention import Contention, Turn, hammer
from tests.bot.lock_schedules import (
    REDIS_URL,
    Run,
    every_schedule,
    load_scripts,
    rasa_party,
    run_schedule,
    tandem_party,
)
from tests.bot.redis_fixtures import client, prefix

pytestmark = pytest.mark.redis

# Two servers taking turns, one command each: both read the lock before either
# writes it back.
ALTERNATING = list("abababab")
SEARCH_DEPTH = 9


@pytest.fixture(scope="module", autouse=True)
def scripts_loaded() -> None:
    load_scripts()


def store(prefix: str, **options: float) -> RedisTicketLockStore:
    return RedisTicketLockStore(url=REDIS_URL, key_prefix=prefix, **options)


async def queued(client: redis.asyncio.Redis, key: str, tickets: int) -> None:
    """Waits until the conversation's queue holds ``tickets`` tickets."""
    for _ in range(6000):
        if await client.zcard(key) >= tickets:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"the queue never held {tickets} tickets")


def both_got_in_once(run: Run) -> bool:
    return sorted(run.inside) == ["a", "b"] and all(
        len(seen) == 1 for seen in run.inside.values()
    )


def test_rasa_lets_two_servers_hold_one_conversation() -> None:
    run = run_schedule(rasa_party, ALTERNATING)

    assert run.errors == {}
    # The window: each server reads the lock, then each writes back the same
    # ticket 0, then each finds ticket 0 first in line.
    assert run.describe().startswith(
        "a:get, b:get, a:set, b:set, a:get, b:get, a:incr, b:incr"
    )
    assert run.inside == {"a": [1], "b": [2]}
    assert run.most_inside == 2


def test_ours_holds_in_the_same_interleaving() -> None:
    run = run_schedule(tandem_party, ALTERNATING)

    assert run.errors == {}
    assert run.schedule[: len(ALTERNATING)] == ALTERNATING
    assert run.describe().startswith("a:issue, b:issue, a:check_in, b:check_in")
    assert run.most_inside == 1
    assert both_got_in_once(run)


def test_ours_holds_in_every_interleaving_of_the_first_commands() -> None:
    runs = list(every_schedule(tandem_party, SEARCH_DEPTH))

    assert len(runs) > 100
    assert {len(run.steps) for run in runs} >= {10}
    for run in runs:
        assert run.errors == {}, run.describe()
        assert run.most_inside == 1, run.describe()
        assert both_got_in_once(run), run.describe()


def test_the_same_search_finds_rasas_race() -> None:
    found = next(
        (
            run
            for run in every_schedule(rasa_party, SEARCH_DEPTH)
            if run.most_inside > 1
        ),
        None,
    )

    assert found is not None


def test_two_processes_of_many_coroutines_never_overlap(prefix: str) -> None:
    contention = Contention(
        url=REDIS_URL,
        key_prefix=prefix,
        conversation="busy-conversation",
        processes=2,
        coroutines=10,
        rounds=10,
    )
    context = multiprocessing.get_context("spawn")
    with context.Pool(contention.processes) as pool:
        results = pool.starmap(
            hammer, [(contention, n) for n in range(contention.processes)]
        )
    turns: list[Turn] = sorted(
        (turn for result in results for turn in result), key=lambda t: t.entered
    )

    assert len(turns) == 2 * 10 * 10
    assert {turn.process for turn in turns} == {0, 1}
    assert {turn.inside for turn in turns} == {1}
    # By the one Redis sequence, each turn began after the previous one ended.
    for earlier, later in itertools.pairwise(turns):
        assert earlier.left < later.entered, (earlier, later)


async def test_waiting_servers_are_served_in_arrival_order(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    lock_store = store(prefix)
    order: list[int] = []
    queue_key = lock_store.keys("c")[0]

    async def wait_turn(number: int) -> None:
        async with lock_store.lock("c"):
            order.append(number)

    async with lock_store.lock("c"):
        waiters = []
        for number in range(1, 4):
            waiters.append(asyncio.create_task(wait_turn(number)))
            await queued(client, queue_key, number + 1)
    await asyncio.wait_for(asyncio.gather(*waiters), 30)
    await lock_store.close()

    assert order == [1, 2, 3]


async def test_a_dead_holders_ticket_lapses_after_its_lease(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    lock_store = store(prefix, lease_seconds=0.3)
    keys = lock_store.keys("c")
    # A server takes the lock and dies: it never renews nor releases it.
    dead = await client.eval(ISSUE.source, 3, *keys, 300)
    assert await client.eval(CHECK_IN.source, 3, *keys, dead, 300) == 0

    async def take_over() -> tuple[list[bytes], int]:
        async with lock_store.lock("c") as held:
            return await client.zrange(keys[0], 0, -1), held.tickets[0].number

    queue, ticket = await asyncio.wait_for(take_over(), 30)
    await lock_store.close()

    assert ticket > int(dead)
    assert queue == [str(ticket).encode()]


async def test_a_live_holder_keeps_its_lock_past_its_lease(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    lock_store = store(prefix, lease_seconds=2.0)
    holding = asyncio.Event()
    events: list[str] = []

    async def holder() -> None:
        async with lock_store.lock("c"):
            holding.set()
            # Two and a half leases long: only renewals keep the ticket.
            await asyncio.sleep(5.0)
            events.append("holder leaves")

    async def contender() -> None:
        await holding.wait()
        async with lock_store.lock("c"):
            events.append("contender enters")

    await asyncio.wait_for(asyncio.gather(holder(), contender()), 60)
    await lock_store.close()

    assert events == ["holder leaves", "contender enters"]


async def test_a_holder_that_lost_its_lease_says_so(
    client: redis.asyncio.Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    lock_store = store(prefix, lease_seconds=10)
    keys = lock_store.keys("c")
    with caplog.at_level(logging.ERROR, logger="bot.lock_store"):
        async with lock_store.lock("c"):
            # As if its deadline had passed and another server had purged it.
            await client.delete(keys[0], keys[1])
    await lock_store.close()

    assert "lapsed before this turn ended" in caplog.text


async def test_only_the_counter_stays_behind(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    lock_store = store(prefix)
    async with lock_store.lock("c") as first:
        pass
    async with lock_store.lock("c") as second:
        pass
    await lock_store.close()
    tickets, deadlines, counter = lock_store.keys("c")

    assert await client.exists(tickets, deadlines) == 0
    assert 0 < await client.ttl(counter) <= 3600
    # Ticket numbers only grow: a fencing token.
    assert second.tickets[0].number > first.tickets[0].number


async def test_tickets_keep_growing_when_the_counter_is_gone(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    lock_store = store(prefix)
    async with lock_store.lock("c") as first:
        pass
    # Expired an hour after the last turn, or lost when Redis restarted empty.
    await client.delete(lock_store.keys("c")[2])
    async with lock_store.lock("c") as second:
        pass
    await lock_store.close()

    assert second.tickets[0].number > first.tickets[0].number
    redis_ms = int((await client.time())[0]) * 1000
    assert redis_ms - 60_000 < second.tickets[0].number <= redis_ms + 1000


async def test_redis_out_of_reach_is_a_lock_error(prefix: str) -> None:
    lock_store = RedisTicketLockStore(url="redis://127.0.0.1:9/0", key_prefix=prefix)

    with pytest.raises(LockError, match="Could not queue"):
        async with lock_store.lock("c"):
            pass
    await lock_store.close()


def test_rasa_loads_it_from_the_endpoints_file(prefix: str) -> None:
    config = EndpointConfig(
        url=REDIS_URL,
        type="bot.lock_store.RedisTicketLockStore",
        key_prefix=prefix,
        lease_seconds=5,
    )

    lock_store = LockStore.create(config)

    assert isinstance(lock_store, RedisTicketLockStore)
    assert (lock_store.key_prefix, lock_store.lease_seconds) == (prefix, 5.0)
    # Rasa lets several Sanic workers share a lock store that is not in memory.
    assert number_of_sanic_workers(config) >= 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs the Redis server's URL"),
        ({"url": "http://127.0.0.1:6379"}, "needs the Redis server's URL"),
        ({"url": REDIS_URL, "lease_seconds": 0}, "lease_seconds must be between"),
        ({"url": REDIS_URL, "lease_seconds": "10"}, "lease_seconds must be a number"),
        ({"url": REDIS_URL, "poll_seconds": 9}, "poll_seconds must be between"),
        ({"url": REDIS_URL, "key_prefix": "two words"}, "key_prefix must be a word"),
        ({"url": REDIS_URL, "lock_lifetime": 60}, "unknown lock_store option"),
    ],
)
def test_a_wrong_configuration_is_refused(
    options: dict[str, object], message: str
) -> None:
    url = options.pop("url", None)
    config = EndpointConfig(
        url=url, type="bot.lock_store.RedisTicketLockStore", **options
    )

    with pytest.raises(LockError, match=message):
        RedisTicketLockStore(config)


# Imported fixtures, which pytest finds here.
__all__ = ["client", "prefix"]
