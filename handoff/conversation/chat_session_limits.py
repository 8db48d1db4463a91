"""How many web chat session ids one client address is issued per minute.

A chat page needs one id per conversation, so a burst from one address is someone
collecting ids or filling the bot's tracker store with empty conversations. The
count is kept in this instance's memory: behind a load balancer each instance
allows the limit, which still bounds a burst.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from handoff.errors import TooManyRequests

MAX_IDS_PER_WINDOW = 20
WINDOW_SECONDS = 60.0
# Addresses seen once are forgotten when this many are remembered.
MAX_ADDRESSES = 10_000


class ChatSessionLimiter:
    def __init__(
        self,
        max_ids: int = MAX_IDS_PER_WINDOW,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_ids = max_ids
        self._window = window_seconds
        self._clock = clock
        self._issued: dict[str, deque[float]] = {}

    def take(self, client_address: str) -> None:
        """Counts one id for ``client_address``, or refuses it over the limit."""
        now = self._clock()
        if len(self._issued) >= MAX_ADDRESSES:
            self._forget_quiet_addresses(now)
        issued = self._issued.setdefault(client_address, deque())
        while issued and issued[0] <= now - self._window:
            issued.popleft()
        if len(issued) >= self._max_ids:
            raise TooManyRequests(
                "too many new chat sessions from this address; try again later",
                max(1, math.ceil(issued[0] + self._window - now)),
            )
        issued.append(now)

    def _forget_quiet_addresses(self, now: float) -> None:
        self._issued = {
            address: issued
            for address, issued in self._issued.items()
            if issued and issued[-1] > now - self._window
        }
