"""Webhooks the platform delivers again, recognised by the platform's delivery id.

Telegram sends an update again until it is answered 2xx (``update_id``); Twilio may
retry a webhook (``MessageSid``); Kakao may send a skill request again (a key of the
user and the words). The channel takes each id once: a redelivery is acknowledged
and not processed. Ids are remembered in this process for a while, the oldest
forgotten first beyond a size, each with an optional value (such as the answer it
got, for a channel that must answer the repeat the same way).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

# Telegram keeps an unanswered update for 24 hours.
DEFAULT_TTL_SECONDS = 24 * 3600.0
DEFAULT_MAX_ENTRIES = 100_000


class SeenUpdates(Generic[V]):
    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or ttl_seconds <= 0:
            raise ValueError("SeenUpdates needs room for one entry and a positive TTL")
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        # Key → (when it expires, its value), in the order they were remembered.
        self._entries: OrderedDict[Hashable, tuple[float, V | None]] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        self._expire()
        return key in self._entries

    def first_time(self, key: Hashable) -> bool:
        """True the first time ``key`` is seen (and remembers it), False after."""
        if key in self:
            return False
        self.remember(key, None)
        return True

    def remember(self, key: Hashable, value: V | None) -> None:
        """Remembers ``key`` with ``value`` from now on (again, if it was known)."""
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self.ttl_seconds, value)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def value(self, key: Hashable) -> V | None:
        """What was remembered with ``key``; None if nothing or it expired."""
        self._expire()
        entry = self._entries.get(key)
        return entry[1] if entry else None

    def forget(self, key: Hashable) -> None:
        """Lets ``key`` be processed again: its processing failed and the platform
        will deliver it once more."""
        self._entries.pop(key, None)

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            key, (expires, _) = next(iter(self._entries.items()))
            if expires > now:
                return
            del self._entries[key]
