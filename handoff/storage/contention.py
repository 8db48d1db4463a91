"""Transactions that lost to another one and may simply run again.

PostgreSQL aborts one of two transactions that wait for each other's row locks
(``deadlock detected``, SQLSTATE 40P01) and, under stricter isolation, one of two
that cannot be ordered (40001). Neither changed anything: run again, the work
finds the winner's result and does what it would have done after it. The service
keeps its lock order the same everywhere (a handoff's row before an agent's) so
this is rare, but two instances and the dispatcher between them can still meet.
"""

from __future__ import annotations

import asyncio
import logging
import random

logger = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
# One run and up to this many more.
MAX_ATTEMPTS = 4
FIRST_PAUSE_SECONDS = 0.02


def is_contention(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) is a transaction PostgreSQL aborted
    for losing a lock or serialization conflict."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for attribute in ("sqlstate", "pgcode"):
            if getattr(current, attribute, None) in RETRYABLE_SQLSTATES:
                return True
        # SQLAlchemy keeps the driver's error in ``orig``.
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


async def pause_before_retry(attempt: int) -> None:
    """Waits a little more after each lost attempt, with jitter so the two
    losers do not meet again."""
    ceiling = FIRST_PAUSE_SECONDS * 2 ** (attempt - 1)
    await asyncio.sleep(random.uniform(ceiling / 2, ceiling))
