"""A process of many coroutines taking one conversation's lock over and over, as a
busy Rasa server would; the test runs two of them at once.

Inside the lock each turn increments a Redis counter of who is inside and takes a
number from a Redis sequence on the way in and on the way out: one clock for both
processes, so the test can check that no two turns overlapped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import redis.asyncio

from bot.lock_store import RedisTicketLockStore

START_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Contention:
    url: str
    key_prefix: str
    conversation: str
    processes: int
    coroutines: int
    rounds: int

    @property
    def inside_key(self) -> str:
        return f"{self.key_prefix}:inside"

    @property
    def clock_key(self) -> str:
        return f"{self.key_prefix}:clock"

    @property
    def ready_key(self) -> str:
        return f"{self.key_prefix}:ready"


@dataclass(frozen=True)
class Turn:
    process: int
    entered: int
    left: int
    inside: int


def hammer(contention: Contention, process: int) -> list[Turn]:
    """Runs in its own process: waits for the others, then takes the lock
    ``coroutines`` × ``rounds`` times."""
    return asyncio.run(_hammer(contention, process))


async def _hammer(contention: Contention, process: int) -> list[Turn]:
    client = redis.asyncio.Redis.from_url(contention.url)
    store = RedisTicketLockStore(
        url=contention.url, key_prefix=contention.key_prefix, poll_seconds=0.005
    )
    turns: list[Turn] = []

    async def coroutine() -> None:
        for _ in range(contention.rounds):
            async with store.lock(contention.conversation):
                entered = int(await client.incr(contention.clock_key))
                inside = int(await client.incr(contention.inside_key))
                await asyncio.sleep(0)
                await client.decr(contention.inside_key)
                left = int(await client.incr(contention.clock_key))
            turns.append(Turn(process, entered, left, inside))

    try:
        # Every process starts hammering at once.
        await client.incr(contention.ready_key)
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_SECONDS
        while int(await client.get(contention.ready_key) or 0) < contention.processes:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the other processes did not start")
            await asyncio.sleep(0.01)
        await asyncio.gather(*(coroutine() for _ in range(contention.coroutines)))
    finally:
        await store.close()
        await client.close()
    return turns
