"""Customers' message rates shared by every Rasa server of a cluster, in Redis.

The same token bucket as ``MessageRate`` (``burst`` messages at once, then
``per_minute`` a minute, ``tell`` for the first refused message of a stretch), one
Redis hash per sender (``<prefix>:rate:<sender id>``) that every server takes from, so
a customer whose messages are spread over N servers still gets the rate once, not N
times. Each check is one Lua script (EVALSHA, loaded again when Redis has forgotten
it), so two servers taking from one bucket at the same moment cannot both take its
last token.

The script reads the time from Redis (``TIME``), not from the server that asks: the
Rasa servers' clocks may disagree by seconds, and a bucket refilled by one server's
clock and drained by another's would refill too fast or not at all. Redis's one clock
makes the refill depend only on the time between messages. A key expires once its
bucket would be full again, plus a margin: an idle sender costs nothing, and an
expired bucket is a full one, as it would have been.

Redis failing (down, unreachable, slower than ``deadline_seconds``) must not silence
customers: the message is let through unchecked, and a warning is logged at most
once every ``warn_every_seconds``, saying how many went through that way.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Callable, Mapping

from redis.asyncio import Redis  # type: ignore[import-untyped]
from redis.exceptions import RedisError  # type: ignore[import-untyped]

from bot.message_rate import (
    DEFAULT_BURST,
    DEFAULT_PER_MINUTE,
    Verdict,
    rate_settings,
)

logger = logging.getLogger(__name__)

# A check slower than this lets the message through: the limiter must not hold up
# a reply (Kakao's Open Builder waits five seconds for the whole answer).
DEFAULT_DEADLINE_SECONDS = 1.0
DEFAULT_WARN_EVERY_SECONDS = 60.0
# How long an idle sender's key outlives the time its bucket takes to fill up.
EXPIRY_MARGIN_SECONDS = 60

# KEYS[1]: the sender's bucket; ARGV: burst, tokens a second, expiry in seconds.
# Returns {allowed, wait_seconds, tell}, each 0 or more.
_TAKE = """
local burst = tonumber(ARGV[1])
local per_second = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'told')
local tokens = tonumber(stored[1])
local updated = tonumber(stored[2])
local told = stored[3] == '1'
if tokens == nil or updated == nil then
  tokens = burst
  told = false
else
  tokens = math.min(burst, tokens + math.max(0, now - updated) * per_second)
end
local allowed, wait, tell = 0, 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  told = false
  allowed = 1
else
  wait = math.max(1, math.ceil((1 - tokens) / per_second))
  if not told then
    tell = 1
  end
  told = true
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
  'updated', string.format('%.6f', now), 'told', told and '1' or '0')
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {allowed, wait, tell}
"""


class RedisMessageRate:
    """The customers' message rates of every Rasa server sharing ``client``."""

    def __init__(
        self,
        client: Redis,
        key_prefix: str,
        per_minute: float = DEFAULT_PER_MINUTE,
        burst: int = DEFAULT_BURST,
        *,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        warn_every_seconds: float = DEFAULT_WARN_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("the message rate needs a positive rate and burst")
        self.per_second = per_minute / 60.0
        self.burst = burst
        self.expiry_seconds = math.ceil(burst / self.per_second) + EXPIRY_MARGIN_SECONDS
        self.client = client
        self._prefix = key_prefix
        self._take = client.register_script(_TAKE)
        self._deadline = deadline_seconds
        self._warn_every = warn_every_seconds
        self._clock = clock
        self._warned_at: float | None = None
        self._unchecked = 0

    @classmethod
    def from_environment(
        cls, client: Redis, key_prefix: str, environ: Mapping[str, str] = os.environ
    ) -> RedisMessageRate:
        return cls(client, key_prefix, *rate_settings(environ))

    def key(self, sender_id: str) -> str:
        return f"{self._prefix}:rate:{sender_id}"

    async def check(self, sender_id: str) -> Verdict:
        """Takes one message from ``sender_id``'s bucket if there is one; lets it
        through when Redis does not answer."""
        try:
            allowed, wait, tell = await asyncio.wait_for(
                self._take(
                    keys=[self.key(sender_id)],
                    args=[self.burst, repr(self.per_second), self.expiry_seconds],
                ),
                self._deadline,
            )
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            self._let_through(error)
            return Verdict(allowed=True)
        if self._unchecked:
            logger.info(
                "Customers' message rates are checked again; %d message(s) went "
                "through unchecked",
                self._unchecked,
            )
            self._unchecked = 0
            self._warned_at = None
        if allowed:
            return Verdict(allowed=True)
        return Verdict(allowed=False, wait_seconds=int(wait), tell=bool(tell))

    def _let_through(self, error: BaseException) -> None:
        self._unchecked += 1
        now = self._clock()
        if self._warned_at is not None and now - self._warned_at < self._warn_every:
            return
        self._warned_at = now
        logger.warning(
            "Customers' message rates are not checked, Redis failed (%s: %s); "
            "%d message(s) let through unchecked so far",
            type(error).__name__,
            str(error) or f"no answer within {self._deadline:g} s",
            self._unchecked,
        )
