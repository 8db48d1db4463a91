"""The web chat's socket.io channel across Rasa servers, through the real Redis server.

Two channels stand for two Rasa servers: each builds its python-socketio server as in
Rasa, with TANDEM_SOCKETIO_REDIS_URL set. A customer's connection is registered in
server B's manager as a real one would be, and every packet B would write to it is
recorded; what channel A sends must arrive there.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from rasa.core.channels.channel import UserMessage
from rasa.shared.exceptions import RasaException
from socketio import AsyncManager, AsyncServer

from bot.signed_socketio import SignedSocketIOInput, session_signature
from bot.socketio_redis import (
    DEFAULT_CHANNEL,
    JsonRedisManager,
    RedisUnavailableError,
    decode,
    share_between_servers,
    start_listening,
)
from tests.bot.lock_schedules import REDIS_URL

pytestmark = pytest.mark.redis

SECRET = "test-secret"
DELIVERY_SECONDS = 10.0


def issued(nonce: str) -> str:
    return f"{nonce}.{session_signature(SECRET, nonce)}"


class Server:
    """One Rasa server's socket.io channel, recording what it writes to sockets."""

    def __init__(self) -> None:
        self.channel = SignedSocketIOInput(session_persistence=True)
        self.blueprint = self.channel.blueprint(self._on_new_message)
        server = self.channel.sio
        assert server is not None
        self.server: AsyncServer = server
        self.written: asyncio.Queue[tuple[str, list[Any]]] = asyncio.Queue()
        # The ids of the packets that ask the socket to confirm them.
        self.confirm_ids: list[int] = []
        server._send_eio_packet = self._record  # type: ignore[method-assign]
        server._send_packet = self._record_packet  # type: ignore[method-assign]

    async def _on_new_message(self, message: UserMessage) -> None:
        pass

    async def _record(self, eio_sid: str, eio_packet: Any) -> None:
        # A socket.io EVENT packet on the default namespace: 2["event", data].
        await self.written.put((eio_sid, json.loads(eio_packet.data[1:])))

    async def _record_packet(self, eio_sid: str, packet: Any) -> None:
        # What is sent with a callback: a packet with an id the socket confirms.
        if packet.id is not None:
            self.confirm_ids.append(packet.id)
        await self.written.put((eio_sid, packet.data))

    def connect(self, eio_sid: str) -> str:
        return str(self.server.manager.connect(eio_sid, "/"))

    async def request_session(self, sid: str, session_id: str) -> None:
        await self.server.handlers["/"]["session_request"](
            sid, {"session_id": session_id}
        )

    async def next_written(self) -> tuple[str, list[Any]]:
        return await asyncio.wait_for(self.written.get(), DELIVERY_SECONDS)

    async def close(self) -> None:
        manager = self.server.manager
        if isinstance(manager, JsonRedisManager):
            thread = getattr(manager, "thread", None)
            if thread is not None:
                thread.cancel()
            await manager.redis.close()


@pytest.fixture
def channel_name(monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"tandem-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("TANDEM_CHAT_SESSION_SECRET", SECRET)
    monkeypatch.setenv("TANDEM_SOCKETIO_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("TANDEM_SOCKETIO_REDIS_CHANNEL", name)
    return name


@pytest.fixture
async def servers(channel_name: str) -> AsyncIterator[tuple[Server, Server]]:
    first, second = Server(), Server()
    for each in (first, second):
        # What the blueprint's after_server_start listener does in Rasa.
        await start_listening(each.server)
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
async def publisher() -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    yield client
    await client.close()


def test_the_channel_shares_its_server_through_redis(channel_name: str) -> None:
    server = Server()

    manager = server.server.manager
    assert isinstance(manager, JsonRedisManager)
    assert manager.channel == channel_name
    assert manager.redis_url == REDIS_URL
    assert manager.server is server.server
    # It listens from the server's start, not from its first connection.
    assert not server.server.manager_initialized
    listeners = [
        future.listener.__name__ for future in server.blueprint._future_listeners
    ]
    assert "listen_from_the_start" in listeners


def test_without_the_setting_the_channel_keeps_its_own_manager(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TANDEM_CHAT_SESSION_SECRET", SECRET)
    monkeypatch.delenv("TANDEM_SOCKETIO_REDIS_URL", raising=False)

    server = Server()

    assert type(server.server.manager) is AsyncManager


def test_the_channel_name_has_a_default(
    channel_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TANDEM_SOCKETIO_REDIS_CHANNEL")

    assert Server().server.manager.channel == DEFAULT_CHANNEL


def test_a_url_that_is_not_redis_is_refused(
    channel_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_SOCKETIO_REDIS_URL", "http://127.0.0.1:6379")

    with pytest.raises(RasaException, match="TANDEM_SOCKETIO_REDIS_URL must be"):
        SignedSocketIOInput(session_persistence=True)


def test_a_server_already_serving_cannot_be_shared_afterwards() -> None:
    server = AsyncServer(async_mode="asgi")
    server.manager_initialized = True

    with pytest.raises(RuntimeError, match="already serving"):
        share_between_servers(server, REDIS_URL)


async def test_an_agent_reply_sent_through_one_server_reaches_the_socket_on_the_other(
    servers: tuple[Server, Server],
) -> None:
    rasa_a, rasa_b = servers
    session_id = issued("customer-on-b")
    sid = rasa_b.connect("engine-io-of-the-customer")

    await rasa_b.request_session(sid, session_id)
    assert await rasa_b.next_written() == (
        "engine-io-of-the-customer",
        ["session_confirm", session_id],
    )

    # What Rasa A does for POST /conversations/{id}/tracker/events
    # ?output_channel=latest: the channel's output, addressed to the session's room.
    output = rasa_a.channel.get_output_channel()
    assert output is not None
    await output.send_text_message(session_id, "Hello, this is Mina.")

    assert await rasa_b.next_written() == (
        "engine-io-of-the-customer",
        ["bot_uttered", {"text": "Hello, this is Mina.", "sender": {"kind": "bot"}}],
    )
    assert rasa_a.written.empty()


async def test_an_agent_reply_waits_for_the_socket_on_the_other_server_to_confirm(
    servers: tuple[Server, Server],
) -> None:
    rasa_a, rasa_b = servers
    session_id = issued("customer-confirms")
    sid = rasa_b.connect("engine-io-of-the-customer")
    await rasa_b.request_session(sid, session_id)
    await rasa_b.next_written()
    output = rasa_a.channel.get_output_channel()
    assert output is not None

    sending = asyncio.create_task(
        output.send_text_message(
            session_id, "Hello, this is Mina.", agent="Mina Kim", tandem_message_id=5
        )
    )
    written = await rasa_b.next_written()
    await asyncio.sleep(0.2)
    waiting = not sending.done()
    # The customer's page confirms it, on server B.
    (confirm_id,) = rasa_b.confirm_ids
    await rasa_b.server._handle_ack(
        "engine-io-of-the-customer", "/", confirm_id, [{"ok": True}]
    )
    await asyncio.wait_for(sending, DELIVERY_SECONDS)

    assert written == (
        "engine-io-of-the-customer",
        [
            "bot_uttered",
            {
                "text": "Hello, this is Mina.",
                "sender": {"kind": "agent", "name": "Mina Kim"},
                "message_id": 5,
            },
        ],
    )
    assert waiting


async def test_what_goes_to_one_socket_of_this_server_needs_no_redis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TANDEM_CHAT_SESSION_SECRET", SECRET)
    monkeypatch.setenv("TANDEM_SOCKETIO_REDIS_URL", "redis://127.0.0.1:9/0")
    server = Server()
    sid = server.connect("engine-io-of-the-customer")
    session_id = issued("customer-while-redis-is-down")

    await server.request_session(sid, session_id)

    assert await server.next_written() == (
        "engine-io-of-the-customer",
        ["session_confirm", session_id],
    )
    # A room of people still goes through Redis, which is down.
    with pytest.raises(RedisUnavailableError):
        await server.server.emit("bot_uttered", {"text": "x"}, room=session_id)
    await server.close()


async def test_only_json_messages_of_socketio_are_acted_on(
    servers: tuple[Server, Server],
    publisher: redis.asyncio.Redis,
    channel_name: str,
    tmp_path: Path,
) -> None:
    _, rasa_b = servers
    session_id = issued("customer")
    sid = rasa_b.connect("engine-io-of-the-customer")
    await rasa_b.request_session(sid, session_id)
    await rasa_b.next_written()
    emit = {
        "method": "emit",
        "event": "bot_uttered",
        "data": {"text": "forged"},
        "namespace": "/",
        "room": session_id,
        "skip_sid": None,
        "callback": None,
        "host_id": "elsewhere",
    }
    marker = tmp_path / "pickle-ran"

    # The stock manager would unpickle this, and run the command.
    await publisher.publish(channel_name, pickle.dumps(_Exploit(str(marker))))
    await publisher.publish(channel_name, pickle.dumps(emit))
    await publisher.publish(channel_name, b"\xff\xfe not text")
    await publisher.publish(channel_name, json.dumps({**emit, "method": "shutdown"}))
    await publisher.publish(channel_name, json.dumps([emit]))
    await publisher.publish(
        channel_name, json.dumps({**emit, "data": {"text": "in order"}})
    )

    assert await rasa_b.next_written() == (
        "engine-io-of-the-customer",
        ["bot_uttered", {"text": "in order"}],
    )
    assert not marker.exists()
    assert rasa_b.written.empty()


async def test_a_message_that_cannot_reach_redis_is_an_error() -> None:
    manager = JsonRedisManager("redis://127.0.0.1:9/0", channel="nowhere")

    with pytest.raises(RedisUnavailableError, match="could not publish"):
        await manager.emit("bot_uttered", {"text": "lost?"}, room="someone")
    await manager.redis.close()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff",
        b"[]",
        b'{"method": "exec"}',
        b'{"event": "bot_uttered"}',
        42,
        None,
    ],
)
def test_decode_drops_what_is_not_a_known_message(raw: object) -> None:
    assert decode(raw) is None


def test_decode_reads_a_json_object_with_a_known_method() -> None:
    assert decode(b'{"method": "emit", "event": "e"}') == {
        "method": "emit",
        "event": "e",
    }
    assert decode('{"method": "close_room"}') == {"method": "close_room"}


class _Exploit:
    """What an attacker able to publish on the channel would send."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (Path(self.path),))
