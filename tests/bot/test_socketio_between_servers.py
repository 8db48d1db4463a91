"""Several Rasa servers: a reply sent through one reaches a web chat connected to
another, through the Redis server at TANDEM_TEST_REDIS_URL (local by default).

Two channels stand for two Rasa servers, each with its own python-socketio server.
The customer's socket is registered on the first as a real connection would be; the
second sends the agent's reply the way Rasa's ``output_channel=latest`` does.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio
from rasa.core.channels.channel import UserMessage
from socketio import AsyncManager, AsyncRedisManager

from bot.signed_socketio import SignedSocketIOInput
from bot.socketio_redis import DEFAULT_CHANNEL as REDIS_CHANNEL

REDIS_URL = os.environ.get("TANDEM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.05


async def ignore(message: UserMessage) -> None:
    return None


class RasaServer:
    """One server's channel, recording what it delivers to its own sockets."""

    def __init__(self) -> None:
        self.channel = SignedSocketIOInput(session_persistence=True)
        self.channel.blueprint(ignore)
        assert self.channel.sio is not None
        self.server = self.channel.sio
        self.delivered: list[tuple[str, list[Any]]] = []
        self.something_delivered = asyncio.Event()
        self.server._send_eio_packet = self._record  # type: ignore[method-assign]

    async def _record(self, eio_sid: str, eio_packet: Any) -> None:
        # A socket.io EVENT packet: "2" and the JSON list [event, data].
        encoded = eio_packet.data
        self.delivered.append((eio_sid, json.loads(encoded[encoded.index("[") :])))
        self.something_delivered.set()

    def start_listening(self) -> None:
        # What the server's first Engine.IO connection does.
        self.server.manager_initialized = True
        self.server.manager.initialize()

    async def stop(self) -> None:
        manager = self.server.manager
        thread = getattr(manager, "thread", None)
        if thread is not None:
            thread.cancel()
            await asyncio.gather(thread, return_exceptions=True)
        if isinstance(manager, AsyncRedisManager):
            await manager.redis.close()


@pytest.fixture
async def servers(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[RasaServer]]:
    monkeypatch.setenv("TANDEM_CHAT_SESSION_SECRET", "test-secret")
    monkeypatch.setenv("TANDEM_SOCKETIO_REDIS_URL", REDIS_URL)
    created = [RasaServer(), RasaServer()]
    try:
        yield created
    finally:
        for server in created:
            await server.stop()


async def wait_until(condition: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(int(WAIT_SECONDS / POLL_SECONDS)):
        if await condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"not so after {WAIT_SECONDS} s")


async def listeners(client: redis.asyncio.Redis) -> int:
    counts = await client.pubsub_numsub(REDIS_CHANNEL)
    return int(counts[0][1])


async def test_a_reply_sent_through_one_server_reaches_a_socket_on_the_other(
    servers: list[RasaServer],
) -> None:
    holder, sender = servers
    session_id = f"{secrets.token_hex(8)}.signature"
    sid = holder.server.manager.connect("engine-io-customer", "/")
    # What Rasa does on session_request with session_persistence.
    holder.server.enter_room(sid, session_id)
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    before = await listeners(client)
    holder.start_listening()

    async def subscribed() -> bool:
        return await listeners(client) > before

    await wait_until(subscribed)
    await client.close()

    output = sender.channel.get_output_channel()
    assert output is not None
    await output.send_text_message(session_id, "상담원입니다. Hello from an agent")

    await asyncio.wait_for(holder.something_delivered.wait(), WAIT_SECONDS)
    assert holder.delivered == [
        (
            "engine-io-customer",
            [
                "bot_uttered",
                {
                    "text": "상담원입니다. Hello from an agent",
                    "sender": {"kind": "bot"},
                },
            ],
        )
    ]
    assert sender.delivered == []


async def test_each_server_sends_through_redis_when_it_is_configured(
    servers: list[RasaServer],
) -> None:
    for server in servers:
        assert isinstance(server.server.manager, AsyncRedisManager)
        assert server.server.manager.channel == REDIS_CHANNEL


def test_one_server_keeps_its_messages_to_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TANDEM_CHAT_SESSION_SECRET", "test-secret")
    monkeypatch.delenv("TANDEM_SOCKETIO_REDIS_URL", raising=False)

    channel = SignedSocketIOInput(session_persistence=True)
    channel.blueprint(ignore)

    assert channel.sio is not None
    assert type(channel.sio.manager) is AsyncManager
