"""Webhooks the platform delivers again, recognised by the platform's delivery id.

Telegram sends an update again until it is answered 2xx (``update_id``); Twilio may
retry a webhook (``MessageSid``). The channel takes each id once: a redelivery is
acknowledged with 200 and not processed. Ids are remembered in this process for a
while, the oldest forgotten first beyond a size.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

# Telegram keeps an unanswered update for 24 hours.
DEFAULT_TTL_SECONDS = 24 * 3600.0
DEFAULT_MAX_ENTRIES = 100_000


class SeenUpdates:
    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._seen: OrderedDict[Hashable, float] = OrderedDict()

    def first_time(self, key: Hashable) -> bool:
        """True the first time ``key`` is seen (and remembers it), False after."""
        now = self._clock()
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True

    def forget(self, key: Hashable) -> None:
        """Lets ``key`` be processed again: its processing failed and the platform
        will deliver it once more."""
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)

    def _expire(self, now: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now - at < self._ttl:
                return
            del self._seen[key]
