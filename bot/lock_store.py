"""Rasa's lock on a conversation, kept in Redis, for several Rasa servers.

Rasa holds a conversation's lock while it handles one message or one API call on it
(a customer's message, an agent's reply, the hand-back), so that two turns never
interleave in one tracker. With one Rasa server an in-memory lock does; with several,
the lock must live where all of them see it.

Rasa 3.6's own ``RedisLockStore`` keeps a ticket lock as one JSON value that it reads
(``GET``), changes in Python and writes back (``SET``) in separate commands:

- ``issue_ticket`` reads the lock, appends the next ticket number and saves it. Two
  servers that both read before either saves compute the same number; the second
  save overwrites the first with an identical queue, and both find their ticket at
  its head: both hold the lock.
- ``cleanup`` reads whether anyone waits and then deletes the lock: a ticket issued in
  between is deleted with it, and the next arrival is issued the number of the one
  already holding.

``tests/bot/test_lock_store.py`` drives both windows command by command against a real
Redis server.

This store keeps each conversation's queue in Redis and changes it only inside Lua
scripts, which Redis runs one at a time: taking a ticket, checking in, and leaving are
each one atomic step, so there is no moment between a read and its write for another
server to slip into. Tickets are numbered by ``INCR`` and never below Redis's clock in
milliseconds, so the number only grows, also after the counter expired an hour after
the conversation's last turn or Redis lost it in a restart: it is a fencing token,
which the turn carries to the tracker store (bot/conversation_fence.py). Tickets are
served in that order, and each has a deadline kept by Redis's own
clock (``TIME``): a waiting server moves its deadline on at every check-in, a holding
one every third of the lease from a background task. A server that dies stops doing
so, and its ticket is dropped once its deadline passes, so a dead holder delays the
conversation by one lease at most (``lease_seconds``, 10 s by default) while a live
one keeps the lock however long its turn takes. A holder whose event loop stalls for
longer than a whole lease can lose the lock without knowing it in time; it finds out
when it next checks in or leaves, and logs it as an error, and the tracker store
refuses its save if a later ticket's turn has been saved meanwhile. Log lines name the
conversation by its log id (bot/observability/logs.py), never by its sender id.

Configured in the endpoints file by module path::

    lock_store:
      type: bot.lock_store.RedisTicketLockStore
      url: redis://127.0.0.1:6379/1
      key_prefix: tandem
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig
from redis.asyncio import Redis  # type: ignore[import-untyped]
from redis.exceptions import NoScriptError, RedisError  # type: ignore[import-untyped]

from bot.conversation_fence import holding
from bot.observability.logs import log_id_for

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "tandem"
DEFAULT_LEASE_SECONDS = 10.0
DEFAULT_POLL_SECONDS = 0.05
FIRST_POLL_SECONDS = 0.002
MAX_LEASE_SECONDS = 600.0
# The ticket counter outlives every lease by far, so ticket numbers only grow; an
# hour after a conversation's last turn nothing of its lock is left in Redis.
COUNTER_TTL_MS = 3600 * 1000
SOCKET_TIMEOUT_SECONDS = 5.0
URL_SCHEMES = ("redis://", "rediss://", "unix://")

# KEYS: the queue (sorted set, ticket -> ticket), the deadlines (hash, ticket ->
# milliseconds of Redis's clock), the ticket counter.
_COMMON = """
local tickets, deadlines, counter = KEYS[1], KEYS[2], KEYS[3]
local function now_ms()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local function purge(now)
  for _, ticket in ipairs(redis.call('ZRANGE', tickets, 0, -1)) do
    local deadline = tonumber(redis.call('HGET', deadlines, ticket))
    if not deadline or deadline < now then
      redis.call('ZREM', tickets, ticket)
      redis.call('HDEL', deadlines, ticket)
    end
  end
end
local function keep(lease)
  redis.call('PEXPIRE', tickets, lease)
  redis.call('PEXPIRE', deadlines, lease)
  redis.call('PEXPIRE', counter, COUNTER_TTL_MS)
end
""".replace("COUNTER_TTL_MS", str(COUNTER_TTL_MS))

# ARGV: lease (ms). Returns the new ticket's number.
ISSUE_SCRIPT = (
    _COMMON
    + """
local lease = tonumber(ARGV[1])
local now = now_ms()
purge(now)
local ticket = redis.call('INCR', counter)
if ticket < now then
  ticket = now
  redis.call('SET', counter, ticket)
end
local last = redis.call('ZRANGE', tickets, -1, -1)[1]
if last and ticket <= tonumber(last) then
  ticket = tonumber(last) + 1
  redis.call('SET', counter, ticket)
end
redis.call('ZADD', tickets, ticket, ticket)
redis.call('HSET', deadlines, ticket, now + lease)
keep(lease)
return ticket
"""
)

# ARGV: ticket, lease (ms). Moves the ticket's deadline on; returns how many tickets
# are ahead of it (0: it holds the lock), or -1 if it has expired.
CHECK_IN_SCRIPT = (
    _COMMON
    + """
local ticket, lease = ARGV[1], tonumber(ARGV[2])
local now = now_ms()
purge(now)
if redis.call('HEXISTS', deadlines, ticket) == 0 then
  return -1
end
redis.call('HSET', deadlines, ticket, now + lease)
keep(lease)
return redis.call('ZRANK', tickets, ticket)
"""
)

# ARGV: ticket. Leaves the queue; returns 1 if the ticket held the lock until now.
RELEASE_SCRIPT = (
    _COMMON
    + """
local ticket = ARGV[1]
local now = now_ms()
local deadline = tonumber(redis.call('HGET', deadlines, ticket))
local held = deadline ~= nil and deadline >= now
  and redis.call('ZRANK', tickets, ticket) == 0
redis.call('ZREM', tickets, ticket)
redis.call('HDEL', deadlines, ticket)
if redis.call('ZCARD', tickets) == 0 then
  redis.call('DEL', tickets, deadlines)
end
if held then
  return 1
end
return 0
"""
)


@dataclass(frozen=True)
class _Script:
    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> _Script:
        return cls(source, hashlib.sha1(source.encode()).hexdigest())


ISSUE = _Script.of(ISSUE_SCRIPT)
CHECK_IN = _Script.of(CHECK_IN_SCRIPT)
RELEASE = _Script.of(RELEASE_SCRIPT)


class RedisTicketLockStore(LockStore):
    """A first-come, first-served lock per conversation in Redis, whose every step
    is one atomic script, with leases that a dead server's tickets outlive by at
    most ``lease_seconds``."""

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        *,
        url: str | None = None,
        redis: Any = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        if endpoint_config is not None:
            options = dict(endpoint_config.kwargs)
            url = endpoint_config.url or options.pop("url", None)
            key_prefix = options.pop("key_prefix", key_prefix)
            lease_seconds = options.pop("lease_seconds", lease_seconds)
            poll_seconds = options.pop("poll_seconds", poll_seconds)
            if options:
                raise LockError(
                    "unknown lock_store option(s): " + ", ".join(sorted(options))
                )
        self.key_prefix = _checked_prefix(key_prefix)
        self.lease_seconds = _checked_seconds(
            "lease_seconds", lease_seconds, 0.05, MAX_LEASE_SECONDS
        )
        self.poll_seconds = _checked_seconds("poll_seconds", poll_seconds, 0.001, 5)
        if redis is None:
            if not isinstance(url, str) or not url.startswith(URL_SCHEMES):
                raise LockError(
                    "the lock store needs the Redis server's URL (redis://, "
                    "rediss:// or unix://) as its url"
                )
            redis = Redis.from_url(
                url,
                socket_timeout=SOCKET_TIMEOUT_SECONDS,
                socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            )
        self.redis = redis
        super().__init__()

    @property
    def lease_ms(self) -> int:
        return max(1, round(self.lease_seconds * 1000))

    def keys(self, conversation_id: str) -> list[str]:
        """The queue, the deadlines and the ticket counter of a conversation."""
        base = f"{self.key_prefix}:lock:{conversation_id}"
        return [f"{base}:tickets", f"{base}:deadlines", f"{base}:counter"]

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Holds the conversation's lock for the ``async with`` body.

        Rasa's ``lock_lifetime`` and ``wait_time_in_seconds`` are not used: a live
        holder keeps the lock by renewing its lease, and waiters check in every
        ``poll_seconds`` at most.
        """
        keys = self.keys(conversation_id)
        try:
            ticket = int(await self._run(ISSUE, keys, [self.lease_ms]))
        except RedisError as error:
            raise LockError(
                "Could not queue for the lock of conversation "
                f"{log_id_for(conversation_id)}: {error}"
            ) from error
        held = False
        try:
            await self._wait_for_turn(conversation_id, keys, ticket)
            held = True
            keeper = asyncio.create_task(
                self._keep_holding(conversation_id, keys, ticket)
            )
            try:
                with holding(conversation_id, ticket):
                    yield TicketLock(
                        conversation_id,
                        deque([Ticket(ticket, time.time() + self.lease_seconds)]),
                    )
            finally:
                keeper.cancel()
                with suppress(asyncio.CancelledError):
                    await keeper
        finally:
            await self._leave(conversation_id, keys, ticket, held)

    async def _wait_for_turn(
        self, conversation_id: str, keys: list[str], ticket: int
    ) -> None:
        delay = FIRST_POLL_SECONDS
        while True:
            try:
                ahead = int(await self._run(CHECK_IN, keys, [ticket, self.lease_ms]))
            except RedisError as error:
                raise LockError(
                    f"Could not wait for the lock of conversation "
                    f"{log_id_for(conversation_id)}: {error}"
                ) from error
            if ahead == 0:
                return
            if ahead < 0:
                raise LockError(
                    f"The ticket for conversation {log_id_for(conversation_id)} expired"
                    " while it waited: this server did not check in for a whole lease"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.poll_seconds)

    async def _keep_holding(
        self, conversation_id: str, keys: list[str], ticket: int
    ) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                ahead = int(await self._run(CHECK_IN, keys, [ticket, self.lease_ms]))
            except RedisError as error:
                logger.warning(
                    "Could not renew the lock of conversation %s (will retry): %s",
                    log_id_for(conversation_id),
                    error,
                )
                continue
            if ahead != 0:
                logger.error(
                    "Lost the lock of conversation %s while holding it: its lease "
                    "ran out before it was renewed",
                    log_id_for(conversation_id),
                )
                return

    async def _leave(
        self, conversation_id: str, keys: list[str], ticket: int, held: bool
    ) -> None:
        try:
            still_held = int(await self._run(RELEASE, keys, [ticket])) == 1
        except RedisError as error:
            logger.warning(
                "Could not release the lock of conversation %s; it lapses within "
                "%.1f s: %s",
                log_id_for(conversation_id),
                self.lease_seconds,
                error,
            )
            return
        if held and not still_held:
            logger.error(
                "The lock of conversation %s lapsed before this turn ended: another "
                "server may have handled the conversation at the same time",
                log_id_for(conversation_id),
            )

    async def _run(self, script: _Script, keys: list[str], args: Sequence[Any]) -> Any:
        try:
            return await self.redis.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self.redis.eval(script.source, len(keys), *keys, *args)

    async def close(self) -> None:
        await self.redis.close()


def _checked_prefix(value: object) -> str:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        raise LockError(f"key_prefix must be a word without spaces, not {value!r}")
    return value


def _checked_seconds(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LockError(f"{name} must be a number of seconds, not {value!r}")
    if not low <= value <= high:
        raise LockError(f"{name} must be between {low} and {high} seconds, not {value}")
    return float(value)
