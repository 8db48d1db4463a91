"""Where a channel keeps its state, its ledger of webhook deliveries and its
customers' message rates.

``TANDEM_CHANNEL_REDIS_URL`` unset (one Rasa server): the state in
``TANDEM_VAR_DIR/channel_state.db``, the ledger and the rates in memory. Set (several
Rasa servers behind one load balancer): all three in that Redis database, under
``TANDEM_CHANNEL_REDIS_PREFIX`` (``tandem`` by default; one per deployment sharing a
Redis server), so that whichever server a webhook, a customer's message or an agent's
reply reaches knows what the others did. A channel's state, ledger and rates share
one Redis client; the channels without state of their own (KakaoTalk, the web chat)
take only the rates (``customer_rate``), and KakaoTalk the skill requests it has
seen (``kakao_repeats``) and the checks of its Event API tasks
(``kakao_check_queue``, in ``channel_state.db`` with one server).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from redis.asyncio import Redis  # type: ignore[import-untyped]

from bot.channels.channel_state import ChannelState, FileChannelState, state_path
from bot.channels.delivery_ledger import DeliveryLedger, LocalLedger, RedisLedger
from bot.channels.kakao_check_queue import CheckQueue, FileCheckQueue, RedisCheckQueue
from bot.channels.kakao_repeats import KakaoRepeats, LocalRepeats, RedisRepeats
from bot.channels.redis_channel_state import RedisChannelState
from bot.message_rate import CustomerRate, MessageRate
from bot.redis_message_rate import RedisMessageRate

URL_VARIABLE = "TANDEM_CHANNEL_REDIS_URL"
PREFIX_VARIABLE = "TANDEM_CHANNEL_REDIS_PREFIX"
DEFAULT_PREFIX = "tandem"
PREFIX = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# A Redis command that does not answer within this fails the webhook with 503, and
# the platform delivers it again.
REDIS_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class ChannelMemory:
    state: ChannelState
    ledger: DeliveryLedger
    rate: CustomerRate


def channel_memory(environ: Mapping[str, str]) -> ChannelMemory:
    shared = _shared_redis(environ)
    if shared is None:
        return ChannelMemory(
            FileChannelState(state_path(environ)),
            LocalLedger(),
            MessageRate.from_environment(environ),
        )
    client, prefix = shared
    return ChannelMemory(
        RedisChannelState(client, prefix),
        RedisLedger(client, prefix),
        RedisMessageRate.from_environment(client, prefix, environ),
    )


def customer_rate(environ: Mapping[str, str]) -> CustomerRate:
    """The customers' message rates alone, for a channel that keeps no state."""
    shared = _shared_redis(environ)
    if shared is None:
        return MessageRate.from_environment(environ)
    return RedisMessageRate.from_environment(*shared, environ)


def kakao_repeats(environ: Mapping[str, str]) -> KakaoRepeats:
    """The KakaoTalk skill requests seen, for spotting Open Builder's repeats."""
    shared = _shared_redis(environ)
    if shared is None:
        return LocalRepeats()
    return RedisRepeats(*shared)


def kakao_check_queue(environ: Mapping[str, str]) -> CheckQueue:
    """Where the checks of agents' replies sent through Kakao's Event API wait."""
    shared = _shared_redis(environ)
    if shared is None:
        return FileCheckQueue(state_path(environ))
    return RedisCheckQueue(*shared)


def _shared_redis(environ: Mapping[str, str]) -> tuple[Redis, str] | None:
    """A client of the Redis the Rasa servers share and the deployment's key
    prefix; None when there is none (one Rasa server)."""
    url = (environ.get(URL_VARIABLE) or "").strip()
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"{URL_VARIABLE} must be a Redis URL")
    prefix = (environ.get(PREFIX_VARIABLE) or DEFAULT_PREFIX).strip()
    if not PREFIX.fullmatch(prefix):
        raise ValueError(f"{PREFIX_VARIABLE} must be a word without spaces")
    client = Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )
    return client, prefix
