"""Which webhook deliveries are being processed or are done, by the platform's id.

Telegram sends an update again until it is answered 2xx (``update_id``); Twilio may
retry a webhook (``MessageSid``). Each delivery id is claimed before the message is
handed to Rasa:

- ``NEW``: nobody has it; this request processes it, then ``finish``es it (done for a
  day) or, when processing failed, ``release``s it so the platform's next delivery is
  processed.
- ``IN_PROGRESS``: another request (on this server or, with a shared ledger, on
  another) is processing it. The channel answers 503 so that the platform tries again
  later instead of taking the repeat as answered: if that other request dies with its
  server, the claim lapses after ``processing_seconds`` and the next delivery is
  processed.
- ``DONE``: acknowledged and not processed again.

With one Rasa server the ledger is in memory (``LocalLedger``). With several behind
one webhook URL, a redelivery may reach any of them, so the ledger is in Redis
(``RedisLedger``, ``TANDEM_CHANNEL_REDIS_URL``): one ``SET NX`` claims an id for every
server at once.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis  # type: ignore[import-untyped]

from bot.channels.redelivery import DEFAULT_TTL_SECONDS, SeenUpdates

# Longer than a turn takes (the action server's timeout is shorter); a claim left by a
# server that died is free again after this.
DEFAULT_PROCESSING_SECONDS = 120.0
PROCESSING, DONE_MARK = "processing", "done"


class Claim(enum.Enum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class DeliveryLedger(Protocol):
    async def claim(self, channel: str, delivery_id: str) -> Claim: ...

    async def finish(self, channel: str, delivery_id: str) -> None: ...

    async def release(self, channel: str, delivery_id: str) -> None: ...


class LocalLedger:
    """The ledger of one Rasa server, in its memory."""

    def __init__(
        self,
        done_seconds: float = DEFAULT_TTL_SECONDS,
        processing_seconds: float = DEFAULT_PROCESSING_SECONDS,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._done: SeenUpdates[bool] = SeenUpdates(done_seconds, max_entries, clock)
        self._processing: dict[tuple[str, str], float] = {}
        self._processing_seconds = processing_seconds

    async def claim(self, channel: str, delivery_id: str) -> Claim:
        key = (channel, delivery_id)
        if key in self._done:
            return Claim.DONE
        now = self._clock()
        started = self._processing.get(key)
        if started is not None and now - started < self._processing_seconds:
            return Claim.IN_PROGRESS
        self._processing[key] = now
        return Claim.NEW

    async def finish(self, channel: str, delivery_id: str) -> None:
        key = (channel, delivery_id)
        self._processing.pop(key, None)
        self._done.remember(key, True)

    async def release(self, channel: str, delivery_id: str) -> None:
        self._processing.pop((channel, delivery_id), None)


class RedisLedger:
    """The ledger shared by every Rasa server behind one webhook URL."""

    def __init__(
        self,
        client: Redis,
        key_prefix: str,
        done_seconds: float = DEFAULT_TTL_SECONDS,
        processing_seconds: float = DEFAULT_PROCESSING_SECONDS,
    ) -> None:
        self._redis = client
        self._prefix = key_prefix
        self._done_seconds = max(1, round(done_seconds))
        self._processing_seconds = max(1, round(processing_seconds))

    def key(self, channel: str, delivery_id: str) -> str:
        return f"{self._prefix}:channel:delivery:{channel}:{delivery_id}"

    async def claim(self, channel: str, delivery_id: str) -> Claim:
        key = self.key(channel, delivery_id)
        if await self._redis.set(key, PROCESSING, nx=True, ex=self._processing_seconds):
            return Claim.NEW
        mark = await self._redis.get(key)
        if mark is None:
            # The claim lapsed between the two commands: try once more.
            if await self._redis.set(
                key, PROCESSING, nx=True, ex=self._processing_seconds
            ):
                return Claim.NEW
            mark = await self._redis.get(key)
        return Claim.DONE if _text(mark) == DONE_MARK else Claim.IN_PROGRESS

    async def finish(self, channel: str, delivery_id: str) -> None:
        await self._redis.set(
            self.key(channel, delivery_id), DONE_MARK, ex=self._done_seconds
        )

    async def release(self, channel: str, delivery_id: str) -> None:
        await self._redis.delete(self.key(channel, delivery_id))


def _text(value: bytes | str | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value
