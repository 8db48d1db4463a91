"""The customers' message rates in the real Redis server: the same bucket as in
memory, one bucket for two Rasa servers, and messages let through while Redis is down
or silent."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio

from bot.message_rate import Verdict
from bot.redis_message_rate import RedisMessageRate
from tests.bot.channel_testing import free_port
from tests.bot.lock_schedules import REDIS_URL
from tests.bot.redis_fixtures import client, prefix

pytestmark = pytest.mark.redis

LOGGER = "bot.redis_message_rate"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def waited(
    client: redis.asyncio.Redis, rate: RedisMessageRate, sender: str, seconds: float
) -> None:
    """As if ``sender`` had sent nothing for ``seconds`` more: Redis's clock cannot
    be moved, so the bucket's last update is moved back."""
    await client.hincrbyfloat(rate.key(sender), "updated", -seconds)


# ---------------------------------------------------------------- the bucket


async def test_a_burst_is_taken_then_refused_saying_how_long_to_wait(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    rate = RedisMessageRate(client, prefix, per_minute=6, burst=3)

    verdicts = [await rate.check("web:a") for _ in range(5)]

    assert [verdict.allowed for verdict in verdicts] == [True] * 3 + [False] * 2
    assert verdicts[3] == Verdict(allowed=False, wait_seconds=10, tell=True)
    assert verdicts[4] == Verdict(allowed=False, wait_seconds=10, tell=False)


async def test_the_bucket_refills_and_a_new_stretch_is_told_again(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    rate = RedisMessageRate(client, prefix, per_minute=6, burst=1)
    await rate.check("s")
    await rate.check("s")

    await waited(client, rate, "s", 5)
    half_way = await rate.check("s")
    await waited(client, rate, "s", 5)
    refilled = await rate.check("s")
    again = await rate.check("s")

    assert half_way == Verdict(allowed=False, wait_seconds=5, tell=False)
    assert refilled == Verdict(allowed=True)
    assert again == Verdict(allowed=False, wait_seconds=10, tell=True)


async def test_a_long_wait_fills_the_bucket_only_up_to_the_burst(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    rate = RedisMessageRate(client, prefix, per_minute=60, burst=2)
    await rate.check("s")
    await rate.check("s")

    await waited(client, rate, "s", 3600)
    taken = [(await rate.check("s")).allowed for _ in range(3)]

    assert taken == [True, True, False]


async def test_senders_do_not_share_a_bucket(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    rate = RedisMessageRate(client, prefix, per_minute=1, burst=1)

    assert (await rate.check("telegram:1")).allowed
    assert (await rate.check("telegram:2")).allowed
    assert not (await rate.check("telegram:1")).allowed


async def test_an_idle_senders_bucket_expires_once_it_would_be_full(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    rate = RedisMessageRate(client, prefix, per_minute=6, burst=3)

    await rate.check("s")
    ttl = await client.ttl(rate.key("s"))

    # 30 s to refill three messages at six a minute, and a minute's margin.
    assert rate.expiry_seconds == 90
    assert 85 <= ttl <= 90
    assert rate.key("s") == f"{prefix}:rate:s"


async def test_settings_come_from_the_environment(
    client: redis.asyncio.Redis, prefix: str
) -> None:
    rate = RedisMessageRate.from_environment(
        client,
        prefix,
        {
            "TANDEM_CUSTOMER_MESSAGES_PER_MINUTE": "12",
            "TANDEM_CUSTOMER_MESSAGE_BURST": "4",
        },
    )

    assert (rate.per_second, rate.burst) == (0.2, 4)


# ---------------------------------------------------------------- two servers


async def test_two_servers_together_take_only_the_burst_from_one_sender(
    prefix: str,
) -> None:
    first_client = redis.asyncio.Redis.from_url(REDIS_URL)
    second_client = redis.asyncio.Redis.from_url(REDIS_URL)
    first = RedisMessageRate(first_client, prefix, per_minute=1, burst=5)
    second = RedisMessageRate(second_client, prefix, per_minute=1, burst=5)
    try:
        verdicts = await asyncio.gather(
            *(server.check("kakao:u1") for _ in range(10) for server in (first, second))
        )
    finally:
        await first_client.close()
        await second_client.close()

    assert sum(verdict.allowed for verdict in verdicts) == 5
    assert sum(verdict.tell for verdict in verdicts) == 1


# ---------------------------------------------------------------- Redis failing


async def test_with_redis_down_messages_go_through_and_the_warning_is_rare(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dead = redis.asyncio.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    clock = Clock()
    rate = RedisMessageRate(
        dead, "tandem", per_minute=1, burst=1, warn_every_seconds=60, clock=clock
    )
    caplog.set_level(logging.WARNING, logger=LOGGER)
    try:
        verdicts = [await rate.check("s") for _ in range(3)]
        warned_at_first = len(caplog.records)
        clock.now += 60
        later = await rate.check("s")
    finally:
        await dead.close()

    assert verdicts == [Verdict(allowed=True)] * 3
    assert later == Verdict(allowed=True)
    assert warned_at_first == 1
    assert "ConnectionError" in caplog.records[0].getMessage()
    assert len(caplog.records) == 2
    assert "4 message(s) let through" in caplog.records[1].getMessage()


class Gate:
    """A TCP server in front of the real Redis: shut, it takes connections and never
    answers; open, it passes them through."""

    def __init__(self) -> None:
        parts = urlsplit(REDIS_URL)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.url = f"redis://127.0.0.1:{{port}}{parts.path}"
        self.open = False
        self.connections: set[asyncio.Task[object]] = set()

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        if not self.open:
            await reader.read()
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer)
        )


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.fixture
async def gate() -> AsyncIterator[tuple[Gate, redis.asyncio.Redis]]:
    gate = Gate()
    server = await asyncio.start_server(gate.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    through = redis.asyncio.Redis.from_url(gate.url.format(port=port))
    yield gate, through
    await through.close()
    for connection in gate.connections:
        connection.cancel()
    await asyncio.gather(*gate.connections, return_exceptions=True)
    server.close()
    await server.wait_closed()


async def test_a_silent_redis_lets_the_message_through_at_the_deadline(
    gate: tuple[Gate, redis.asyncio.Redis],
    client: redis.asyncio.Redis,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shut, through = gate
    rate = RedisMessageRate(through, prefix, burst=1, deadline_seconds=0.2)
    caplog.set_level(logging.INFO, logger=LOGGER)

    started = time.monotonic()
    unchecked = await rate.check("s")
    took = time.monotonic() - started
    shut.open = True
    checked = [await rate.check("s") for _ in range(2)]

    assert unchecked == Verdict(allowed=True)
    assert took < 2
    assert "no answer within 0.2 s" in caplog.records[0].getMessage()
    assert [verdict.allowed for verdict in checked] == [True, False]
    assert await client.exists(rate.key("s"))
    assert "checked again; 1 message(s) went through unchecked" in (
        caplog.records[1].getMessage()
    )


# Imported fixtures, which pytest finds here.
__all__ = ["client", "prefix"]
