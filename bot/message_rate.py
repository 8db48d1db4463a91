"""How fast one customer may send messages, on every channel.

A person types a few messages a minute; a script or a stuck client sends hundreds, and
each one costs a turn of the bot (language understanding, actions, the handoff
service's ingest). Each sender has a token bucket: ``burst`` messages at once, then
``per_minute`` a minute. A message beyond that is not handed to the bot; the channel
tells the customer once how long to wait (``Verdict.tell``, ``Verdict.wait_seconds``),
and the next message after the wait is handled as usual.

Every channel asks a ``CustomerRate``. With one Rasa server it is ``MessageRate``,
whose buckets are in the server's memory, bounded: past ``max_senders`` the least
recently seen buckets are dropped (which only ever lets a sender through). With
several behind one load balancer (``TANDEM_CHANNEL_REDIS_URL`` set) a sender's
messages may reach any of them, so the buckets are in Redis
(``bot/redis_message_rate.py``) and the rate holds for the whole cluster; which one a
channel gets is decided in ``bot/channels/channel_memory.py``.
"""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

PER_MINUTE_VARIABLE = "TANDEM_CUSTOMER_MESSAGES_PER_MINUTE"
BURST_VARIABLE = "TANDEM_CUSTOMER_MESSAGE_BURST"
DEFAULT_PER_MINUTE = 60.0
DEFAULT_BURST = 20
DEFAULT_MAX_SENDERS = 100_000

NOTICES = {
    "ko": "메시지가 너무 빠르게 들어오고 있어요. {seconds}초 뒤에 다시 보내 주세요.",
    "en": "You're sending messages too quickly. Please send again in {seconds} s.",
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    wait_seconds: int = 0
    """How long until the next message is taken, rounded up; 0 when allowed."""
    tell: bool = False
    """True for the first refused message of a stretch: tell the customer once."""


class CustomerRate(Protocol):
    async def check(self, sender_id: str) -> Verdict:
        """Takes one message from ``sender_id``'s bucket if there is one."""
        ...


class _Bucket:
    __slots__ = ("tokens", "told", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated
        self.told = False


class MessageRate:
    def __init__(
        self,
        per_minute: float = DEFAULT_PER_MINUTE,
        burst: int = DEFAULT_BURST,
        *,
        max_senders: int = DEFAULT_MAX_SENDERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst < 1 or max_senders < 1:
            raise ValueError("the message rate needs a positive rate and burst")
        self.per_second = per_minute / 60.0
        self.burst = burst
        self._max_senders = max_senders
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> MessageRate:
        return cls(*rate_settings(environ))

    async def check(self, sender_id: str) -> Verdict:
        """Takes one message from ``sender_id``'s bucket if there is one."""
        now = self._clock()
        bucket = self._buckets.pop(sender_id, None)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(
                float(self.burst), bucket.tokens + elapsed * self.per_second
            )
            bucket.updated = now
        self._buckets[sender_id] = bucket
        while len(self._buckets) > self._max_senders:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.told = False
            return Verdict(allowed=True)
        wait = max(1, math.ceil((1.0 - bucket.tokens) / self.per_second))
        tell = not bucket.told
        bucket.told = True
        return Verdict(allowed=False, wait_seconds=wait, tell=tell)


def slow_down_notice(language: str, wait_seconds: int) -> str:
    template = NOTICES["en" if language == "en" else "ko"]
    return template.format(seconds=wait_seconds)


def rate_settings(environ: Mapping[str, str]) -> tuple[float, int]:
    """``TANDEM_CUSTOMER_MESSAGES_PER_MINUTE`` and ``TANDEM_CUSTOMER_MESSAGE_BURST``."""
    return (
        _number(environ, PER_MINUTE_VARIABLE, DEFAULT_PER_MINUTE),
        int(_number(environ, BURST_VARIABLE, DEFAULT_BURST)),
    )


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number")
    return value
