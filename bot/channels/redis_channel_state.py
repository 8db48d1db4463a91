"""The channels' state shared by several Rasa servers, in Redis.

A WhatsApp customer writes to one Rasa server and the agent's reply may leave through
another: the 24-hour window must be known to both, and so must the options last sent
to a customer, which their next message may answer on any server. Same contract as
``FileChannelState``; each call is one Redis command or script. Keys expire when
their content no longer matters (the window after two days, options after a week, the
agents' replies a platform took after three days).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from redis.asyncio import Redis  # type: ignore[import-untyped]

from bot.channels.channel_state import (
    SENT_REPLY_SECONDS,
    ReplyOption,
    decode_options,
    encode_options,
)

INBOUND_SECONDS = 2 * 24 * 3600
OPTIONS_SECONDS = 7 * 24 * 3600

# Keeps the later of two times, so that a message handled late on one server never
# moves the window back.
_RECORD_LATEST = """
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""


class RedisChannelState:
    def __init__(self, client: Redis, key_prefix: str) -> None:
        self._redis = client
        self._prefix = key_prefix
        self._record_latest = client.register_script(_RECORD_LATEST)

    def _key(self, kind: str, sender_id: str) -> str:
        return f"{self._prefix}:channel:{kind}:{sender_id}"

    async def record_inbound(self, sender_id: str, at: float) -> None:
        await self._record_latest(
            keys=[self._key("inbound", sender_id)], args=[repr(at), INBOUND_SECONDS]
        )

    async def last_inbound(self, sender_id: str) -> float | None:
        value = await self._redis.get(self._key("inbound", sender_id))
        return None if value is None else float(value)

    async def remember_options(
        self, sender_id: str, options: Sequence[ReplyOption], at: float
    ) -> None:
        record = json.dumps({"options": encode_options(options), "sent_at": at})
        await self._redis.set(
            self._key("options", sender_id), record, ex=OPTIONS_SECONDS
        )

    async def options(
        self, sender_id: str, *, sent_after: float | None = None
    ) -> list[ReplyOption]:
        value = await self._redis.get(self._key("options", sender_id))
        if value is None:
            return []
        record = json.loads(value)
        if sent_after is not None and float(record["sent_at"]) <= sent_after:
            return []
        return decode_options(str(record["options"]))

    async def forget_options(self, sender_id: str) -> None:
        await self._redis.delete(self._key("options", sender_id))

    async def remember_reply(
        self, platform_id: str, message_id: int, at: float
    ) -> None:
        await self._redis.set(
            self._key("reply", platform_id), str(message_id), ex=SENT_REPLY_SECONDS
        )

    async def reply_of(self, platform_id: str, now: float) -> int | None:
        # Redis expires the key itself.
        value = await self._redis.get(self._key("reply", platform_id))
        return None if value is None else int(value)
