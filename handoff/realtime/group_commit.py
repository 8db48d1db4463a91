"""Group commit: short units of work that arrive together share one transaction.

A relayed message costs a transaction, and on SQLite every transaction takes
turns on the one pooled connection, each statement several hops to the driver's
thread and back. Under load most of that time goes to beginning and committing.
Here a unit of work that arrives while a transaction is running waits for it to
end and then runs, with every other unit that arrived meanwhile, in the next
one: at low load each unit still has a transaction of its own and waits for
nothing.

A unit of work only touches the database through the session it is given, and
finds the session as if the transaction were its own (earlier units' changes
written, none of their objects in it). So it can run again: when one unit
fails, the transaction is rolled back and each unit of the group runs again on
its own, so one bad request fails alone and the others keep the results they
would have had. A transaction PostgreSQL aborted for a lock conflict runs again
whole (handoff.storage.contention). A unit's caller gets its result only after
the commit, so nothing is announced before it is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.contention import MAX_ATTEMPTS, is_contention, pause_before_retry

I = TypeVar("I")  # noqa: E741
R = TypeVar("R")
T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]

# Keeps a transaction short enough that a claim waiting for the connection is
# not held up for long behind a burst of messages.
MAX_GROUP = 64


@dataclass
class _Pending(Generic[I, R]):
    item: I
    done: asyncio.Future[R] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Coalescer(Generic[I, R]):
    """Hands the items submitted meanwhile to ``handle`` together.

    At most ``concurrency`` calls of ``handle`` run at once; an item submitted
    while they all run waits for the next one to end. ``handle`` answers with
    one result per item, in order. When it fails for several items, each is
    handled again on its own, so only the items that fail by themselves fail.
    """

    def __init__(
        self,
        handle: Callable[[Sequence[I]], Awaitable[Sequence[R]]],
        max_items: int = MAX_GROUP,
        concurrency: int = 1,
    ) -> None:
        self._handle = handle
        self._max_items = max_items
        self._concurrency = concurrency
        self._pending: list[_Pending[I, R]] = []
        # Counted by the drains themselves: a drain that found nothing left has
        # stopped counting before anything else runs, though its task is not
        # finished yet.
        self._draining = 0
        # The loop keeps only weak references to tasks.
        self._tasks: set[asyncio.Task[None]] = set()
        # Calls of ``handle`` that succeeded, for one item or several.
        self.groups = 0

    async def submit(self, item: I) -> R:
        pending: _Pending[I, R] = _Pending(item)
        self._pending.append(pending)
        if self._draining < self._concurrency:
            self._draining += 1
            task = asyncio.create_task(self._drain(), name="coalescer")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        # The caller may give up (a client hung up); the group goes on without it.
        return await asyncio.shield(pending.done)

    async def _drain(self) -> None:
        try:
            while self._pending:
                group = self._pending[: self._max_items]
                del self._pending[: self._max_items]
                try:
                    await self._run(group)
                except BaseException:
                    # Cancelled (the service is stopping): nobody is left waiting.
                    for pending in group + self._pending:
                        pending.done.cancel()
                    self._pending.clear()
                    raise
        finally:
            self._draining -= 1

    async def _run(self, group: list[_Pending[I, R]]) -> None:
        try:
            results = await self._handle([pending.item for pending in group])
        except Exception as error:
            if len(group) == 1:
                _settle(group[0], error=error)
                return
            # Which item failed, and whether the others would have: each alone.
            for pending in group:
                await self._run([pending])
            return
        self.groups += 1
        for pending, result in zip(group, results, strict=True):
            _settle(pending, result=result)


class GroupCommitter:
    """Runs units of work in shared transactions, ``concurrency`` at a time.

    On SQLite one transaction writes at a time anyway (one pooled connection);
    PostgreSQL can commit several groups at once on its pool's connections.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        max_group: int = MAX_GROUP,
        concurrency: int = 1,
    ) -> None:
        self.sessions = sessions
        self.concurrency = concurrency
        self._units: Coalescer[Work[Any], Any] = Coalescer(
            self._commit, max_group, concurrency
        )

    @property
    def groups(self) -> int:
        """Transactions committed so far, of one unit or several."""
        return self._units.groups

    async def run(self, work: Work[T]) -> T:
        """``work``'s result once its transaction has committed."""
        result: T = await self._units.submit(work)
        return result

    async def _commit(self, units: Sequence[Work[Any]]) -> list[Any]:
        attempt = 1
        while True:
            try:
                return await self._commit_once(units)
            except Exception as error:
                # A lost lock conflict changed nothing: the units run again.
                if attempt >= MAX_ATTEMPTS or not is_contention(error):
                    raise
            await pause_before_retry(attempt)
            attempt += 1

    async def _commit_once(self, units: Sequence[Work[Any]]) -> list[Any]:
        results = []
        async with self.sessions.begin() as session:
            for work in units:
                results.append(await work(session))
                # The next unit starts as if in a transaction of its own: with
                # this one's changes written and none of its objects cached.
                await session.flush()
                session.expunge_all()
        return results


def _settle(
    pending: _Pending[Any, Any],
    *,
    result: Any = None,
    error: BaseException | None = None,
) -> None:
    if pending.done.done():
        return
    if error is not None:
        pending.done.set_exception(error)
    else:
        pending.done.set_result(result)
