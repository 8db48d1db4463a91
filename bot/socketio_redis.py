"""The web chat's socket.io messages shared between Rasa servers through Redis.

A customer's socket is connected to one Rasa server, and its room (the chat session
id) exists only in that server's memory. The handoff service's call that sends an
agent's reply (``output_channel=latest``) may reach another server, whose emit to the
room would go to nobody. With python-socketio's ``AsyncRedisManager`` every server
publishes what it emits on a Redis channel and listens to it, and the one that holds
the room delivers it.

``JsonRedisManager`` is that manager with three changes:

- Messages are JSON. The stock manager pickles them and unpickles whatever arrives on
  the channel, so anyone able to publish there could run code in every Rasa server;
  here anything that is not a JSON object naming a known method is dropped.
- The server listens from the moment it starts, not from its first connection, and
  a publish waits until the subscription is in place: otherwise the first messages of
  a freshly started server could be published before it listens and never reach the
  socket that caused them.
- A publish that fails twice raises instead of dropping the message, so Rasa's API
  call that sent an agent's reply fails and the service records it undelivered.
- What is sent to one socket of this server (the session's confirmation, a
  refusal, the trouble notice) goes to it directly, not through Redis: a socket is
  connected to one server only, and it keeps working while Redis is away.

Needs the ``redis`` package's ``redis.asyncio`` (redis 4.2 or later; Rasa 3.6 pins
4.6).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError  # type: ignore[import-untyped]
from socketio import AsyncRedisManager, AsyncServer

logger = logging.getLogger(__name__)

DEFAULT_CHANNEL = "tandem-socketio"
# What AsyncPubSubManager acts on; anything else is dropped.
METHODS = frozenset({"emit", "callback", "disconnect", "close_room"})
LISTEN_WAIT_SECONDS = 5.0
MAX_RETRY_SECONDS = 30.0


class RedisUnavailableError(RuntimeError):
    """A socket.io message could not be handed to Redis."""


def decode(raw: object) -> dict[str, Any] | None:
    """A message from the channel, if it is a JSON object with a known method."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(raw, str):
        return None
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("method") not in METHODS:
        return None
    return message


class JsonRedisManager(AsyncRedisManager):
    """python-socketio's Redis manager, speaking JSON and listening from the start."""

    name = "tandem-json-redis"

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL) -> None:
        super().__init__(url, channel=channel, write_only=False)
        self._listening: asyncio.Event | None = None

    def initialize(self) -> None:
        self._listening = asyncio.Event()
        super().initialize()

    async def wait_until_listening(self, timeout: float = LISTEN_WAIT_SECONDS) -> bool:
        if self._listening is None:
            return False
        try:
            await asyncio.wait_for(self._listening.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: str | None = None,
        skip_sid: Any = None,
        callback: Any = None,
        **kwargs: Any,
    ) -> Any:
        if room is not None and self.is_connected(room, namespace or "/"):
            # ``room`` is a socket of this server (socket ids are rooms too).
            kwargs["ignore_queue"] = True
        return await super().emit(
            event,
            data,
            namespace=namespace,
            room=room,
            skip_sid=skip_sid,
            callback=callback,
            **kwargs,
        )

    async def _publish(self, data: dict[str, Any]) -> None:
        if self._listening is not None and not self._listening.is_set():
            await self.wait_until_listening()
        message = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        try:
            await self.redis.publish(self.channel, message)
        except RedisError as first:
            logger.warning(
                "Could not publish a socket.io message (retrying): %s", first
            )
            try:
                await self.redis.publish(self.channel, message)
            except RedisError as error:
                raise RedisUnavailableError(
                    f"could not publish a socket.io message to Redis: {error}"
                ) from error

    async def _listen(self) -> AsyncIterator[dict[str, Any]]:
        delay = 1.0
        while True:
            try:
                await self.pubsub.subscribe(self.channel)
                break
            except RedisError as error:
                logger.error(
                    "Cannot subscribe to Redis channel %r (retrying in %.0f s): %s",
                    self.channel,
                    delay,
                    error,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
        if self._listening is not None:
            self._listening.set()
        channel = self.channel.encode("utf-8")
        async for message in self._redis_listen_with_retries():
            if message.get("type") != "message" or message.get("channel") != channel:
                continue
            decoded = decode(message.get("data"))
            if decoded is None:
                logger.warning("Dropped a message on %r that is not ours", self.channel)
                continue
            yield decoded


def share_between_servers(
    server: AsyncServer, url: str, channel: str = DEFAULT_CHANNEL
) -> JsonRedisManager:
    """Makes ``server`` send what it emits through Redis. Equivalent to creating it
    with ``client_manager=JsonRedisManager(url, channel)``, for a server someone else
    created: it must not have served anyone yet."""
    if server.manager_initialized:
        raise RuntimeError("the socket.io server is already serving clients")
    manager = JsonRedisManager(url, channel)
    manager.set_server(server)
    server.manager = manager
    return manager


async def start_listening(server: AsyncServer) -> None:
    """Starts the manager's listener now (python-socketio would wait for the first
    connection) and waits briefly for its subscription."""
    manager = server.manager
    if not isinstance(manager, JsonRedisManager) or server.manager_initialized:
        return
    server.manager_initialized = True
    manager.initialize()
    if not await manager.wait_until_listening():
        logger.error(
            "Not yet listening on Redis channel %r; retrying in the background",
            manager.channel,
        )
