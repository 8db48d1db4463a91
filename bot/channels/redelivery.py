"""Webhooks a platform delivers again.

Platforms retry a webhook they think failed (no answer in time, a dropped
connection) although it was often processed. ``SeenUpdates`` remembers the
platform's delivery ids — a Telegram ``update_id``, a Twilio ``MessageSid``, a
Kakao request key — for a while, so the repeat is acknowledged and not processed
twice. It lives in the Rasa process's memory: bounded in size, oldest first out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

DEFAULT_ENTRIES = 10_000
DEFAULT_TTL_SECONDS = 600.0


class SeenUpdates(Generic[V]):
    """Delivery ids seen in the last ``ttl_seconds``, at most ``max_entries`` of
    them, each with an optional value (such as the answer it got)."""

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_ENTRIES,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or ttl_seconds <= 0:
            raise ValueError("SeenUpdates needs room for one entry and a positive TTL")
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, V | None]] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        self._expire()
        return key in self._entries

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen within the TTL, and remembers it."""
        if key in self:
            return False
        self.remember(key, None)
        return True

    def remember(self, key: str, value: V | None) -> None:
        """Remembers ``key`` with ``value`` from now on (again, if it was known)."""
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self.ttl_seconds, value)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def value(self, key: str) -> V | None:
        """What was remembered with ``key``; None if nothing or it expired."""
        self._expire()
        entry = self._entries.get(key)
        return entry[1] if entry else None

    def _expire(self) -> None:
        now = self._clock()
        # Entries are in the order they were (re)remembered, so in expiry order.
        while self._entries:
            key, (expires, _) = next(iter(self._entries.items()))
            if expires > now:
                return
            del self._entries[key]
