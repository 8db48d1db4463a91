"""Skill requests Open Builder sends again, spotted by every Rasa server.

A skill request has no id of its own, so the customer and what they sent name it
(``SkillRequest.key``). The first request with a key claims it and runs the turn;
a repeat that arrives while the turn runs is told to wait, and one that arrives up
to ``REPEAT_SECONDS`` after the answer was settled gets the same answer. Either way
the bot hears the message once.

With one Rasa server the keys are in its memory (``LocalRepeats``). With several
behind one skill URL, Open Builder's repeat may reach any of them, so the keys are
in the Redis the servers share (``RedisRepeats``, ``TANDEM_CHANNEL_REDIS_URL``):
one ``SET NX`` claims a key for every server at once. A claim left by a server that
stopped mid-turn lapses after ``RUNNING_SECONDS``, the life of Open Builder's
callback URL, the longest a turn can still answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis  # type: ignore[import-untyped]

from bot.channels.redelivery import SeenUpdates

# How long a settled answer is kept for Open Builder sending the request again.
REPEAT_SECONDS = 5.0
RUNNING_SECONDS = 60.0
RUNNING_MARK = "running"


@dataclass(frozen=True)
class Earlier:
    """A request seen before: its answer, or None while its turn still runs."""

    answer: dict[str, Any] | None


class KakaoRepeats(Protocol):
    async def claim(self, key: str) -> Earlier | None:
        """None when this request is the first with ``key`` and is to run."""
        ...

    async def settle(self, key: str, answer: dict[str, Any]) -> None:
        """From now on, for ``REPEAT_SECONDS``, a repeat gets ``answer``."""
        ...


class LocalRepeats:
    """The requests one Rasa server has seen, in its memory."""

    def __init__(
        self,
        repeat_seconds: float = REPEAT_SECONDS,
        running_seconds: float = RUNNING_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._answers: SeenUpdates[dict[str, Any]] = SeenUpdates(
            ttl_seconds=repeat_seconds, clock=clock
        )
        self._running: dict[str, float] = {}
        self._running_seconds = running_seconds
        self._clock = clock

    async def claim(self, key: str) -> Earlier | None:
        answer = self._answers.value(key)
        if answer is not None:
            return Earlier(answer)
        now = self._clock()
        started = self._running.get(key)
        if started is not None and now - started < self._running_seconds:
            return Earlier(None)
        self._forget_lapsed(now)
        self._running[key] = now
        return None

    async def settle(self, key: str, answer: dict[str, Any]) -> None:
        self._running.pop(key, None)
        self._answers.remember(key, answer)

    def _forget_lapsed(self, now: float) -> None:
        lapsed = [
            key
            for key, started in self._running.items()
            if now - started >= self._running_seconds
        ]
        for key in lapsed:
            del self._running[key]


class RedisRepeats:
    """The requests every Rasa server behind one skill URL has seen."""

    def __init__(
        self,
        client: Redis,
        key_prefix: str,
        repeat_seconds: float = REPEAT_SECONDS,
        running_seconds: float = RUNNING_SECONDS,
    ) -> None:
        self._redis = client
        self._prefix = key_prefix
        self._repeat_ms = max(1, round(repeat_seconds * 1000))
        self._running_ms = max(1, round(running_seconds * 1000))

    def key(self, key: str) -> str:
        return f"{self._prefix}:channel:kakao:request:{key}"

    async def claim(self, key: str) -> Earlier | None:
        name = self.key(key)
        for _ in range(2):
            if await self._redis.set(name, RUNNING_MARK, nx=True, px=self._running_ms):
                return None
            mark = await self._redis.get(name)
            if mark is not None:
                return Earlier(_answer(mark))
            # The key lapsed between the two commands: claim it once more.
        return Earlier(None)

    async def settle(self, key: str, answer: dict[str, Any]) -> None:
        await self._redis.set(
            self.key(key),
            json.dumps(answer, ensure_ascii=False, separators=(",", ":")),
            px=self._repeat_ms,
        )


def _answer(mark: bytes | str) -> dict[str, Any] | None:
    """The settled answer a key holds; None while it marks a running turn."""
    try:
        text = mark.decode("utf-8") if isinstance(mark, bytes) else mark
        answer = None if text == RUNNING_MARK else json.loads(text)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None
