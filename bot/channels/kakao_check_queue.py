"""Where the checks of agents' replies sent through Kakao's Event API wait for their
turn, so that a Rasa server that stops loses none.

Each check is due at a time (the wall clock's, the one clock every server and every
restart shares). ``take_due`` hands out the checks that are due and, in the same
step, moves each one a lease (``LEASE_SECONDS``) into the future: the server that
took a check asks Kakao and then ``advance``s it to its next round or ``remove``s it;
a server that stops in between leaves it due again once the lease is over, for any
server to take. A check may therefore be asked twice, never lost.

- ``MemoryCheckQueue``: in the process's memory, for a channel built without the
  environment (tests, tools).
- ``FileCheckQueue``: one Rasa server, a table of ``channel_state.db`` in
  ``TANDEM_VAR_DIR``; a restart takes up the checks the last run left.
- ``RedisCheckQueue``: several Rasa servers, one sorted set in the Redis they share
  (``TANDEM_CHANNEL_REDIS_URL``); one script takes a due check for one server.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis  # type: ignore[import-untyped]

from bot.channels.channel_state import open_state_file

logger = logging.getLogger(__name__)

T = TypeVar("T", str, bytes)

# Longer than one round of a check takes (a few calls of Kakao's API, each bounded).
LEASE_SECONDS = 60.0


@dataclass(frozen=True)
class PendingCheck:
    """One agent's reply to check: its Event API tasks still to hear about, how
    many rounds of asking are done, and how long the last wait was."""

    message_id: int
    user_id: str
    task_ids: tuple[str, ...]
    rounds_done: int = 0
    delay: float = 0.0
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def next_round(self, task_ids: tuple[str, ...], delay: float) -> PendingCheck:
        return replace(
            self, task_ids=task_ids, rounds_done=self.rounds_done + 1, delay=delay
        )

    def encoded(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "message_id": self.message_id,
                "user_id": self.user_id,
                "task_ids": list(self.task_ids),
                "rounds_done": self.rounds_done,
                "delay": self.delay,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decoded(cls, text: str | bytes) -> PendingCheck:
        """The check ``encoded`` wrote; ValueError for anything else."""
        body: Any = json.loads(text)
        try:
            return cls(
                message_id=int(body["message_id"]),
                user_id=str(body["user_id"]),
                task_ids=tuple(str(task) for task in body["task_ids"]),
                rounds_done=int(body["rounds_done"]),
                delay=float(body["delay"]),
                id=str(body["id"]),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a pending check: {error}") from None


class CheckQueue(Protocol):
    async def put(self, check: PendingCheck, due: float) -> None: ...

    async def take_due(
        self, now: float, limit: int, lease: float = LEASE_SECONDS
    ) -> list[PendingCheck]:
        """At most ``limit`` checks due at ``now``, each due again at ``now +
        lease`` unless advanced or removed before."""
        ...

    async def advance(self, done: PendingCheck, then: PendingCheck, due: float) -> None:
        """``done``'s round is over; ``then`` is its next, due at ``due``."""
        ...

    async def remove(self, check: PendingCheck) -> None: ...

    async def size(self) -> int: ...


class MemoryCheckQueue:
    def __init__(self) -> None:
        self._checks: dict[str, tuple[float, PendingCheck]] = {}

    def waiting(self) -> list[tuple[float, PendingCheck]]:
        """What waits and when it is due, soonest first."""
        return sorted(self._checks.values(), key=lambda entry: entry[0])

    async def put(self, check: PendingCheck, due: float) -> None:
        self._checks[check.id] = (due, check)

    async def take_due(
        self, now: float, limit: int, lease: float = LEASE_SECONDS
    ) -> list[PendingCheck]:
        due = sorted(
            (entry for entry in self._checks.values() if entry[0] <= now),
            key=lambda entry: entry[0],
        )[:limit]
        for _, check in due:
            self._checks[check.id] = (now + lease, check)
        return [check for _, check in due]

    async def advance(self, done: PendingCheck, then: PendingCheck, due: float) -> None:
        self._checks.pop(done.id, None)
        self._checks[then.id] = (due, then)

    async def remove(self, check: PendingCheck) -> None:
        self._checks.pop(check.id, None)

    async def size(self) -> int:
        return len(self._checks)


class FileCheckQueue:
    """The checks of one Rasa server, in SQLite. Each call is one short transaction
    on a local file, so it runs on the event loop."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_state_file(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kakao_task_checks ("
            " id TEXT PRIMARY KEY, due REAL NOT NULL, body TEXT NOT NULL)"
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def put(self, check: PendingCheck, due: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO kakao_task_checks (id, due, body)"
                " VALUES (?, ?, ?)",
                (check.id, due, check.encoded()),
            )

    async def take_due(
        self, now: float, limit: int, lease: float = LEASE_SECONDS
    ) -> list[PendingCheck]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute(
                    "SELECT id, body FROM kakao_task_checks WHERE due <= ?"
                    " ORDER BY due LIMIT ?",
                    (now, limit),
                ).fetchall()
                self._db.executemany(
                    "UPDATE kakao_task_checks SET due = ? WHERE id = ?",
                    [(now + lease, row[0]) for row in rows],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        checks, unreadable = _decoded(row[1] for row in rows)
        if unreadable:
            with self._lock:
                self._db.executemany(
                    "DELETE FROM kakao_task_checks WHERE body = ?",
                    [(body,) for body in unreadable],
                )
        return checks

    async def advance(self, done: PendingCheck, then: PendingCheck, due: float) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM kakao_task_checks WHERE id = ?", (done.id,))
            self._db.execute(
                "INSERT OR REPLACE INTO kakao_task_checks (id, due, body)"
                " VALUES (?, ?, ?)",
                (then.id, due, then.encoded()),
            )
            self._db.execute("COMMIT")

    async def remove(self, check: PendingCheck) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kakao_task_checks WHERE id = ?", (check.id,))

    async def size(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM kakao_task_checks").fetchone()
        return int(row[0])


# Takes the due checks and moves each a lease ahead, in one step for every server.
_TAKE_DUE = """
local taken = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(taken) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return taken
"""


class RedisCheckQueue:
    def __init__(self, client: Redis, key_prefix: str) -> None:
        self._redis = client
        self.key = f"{key_prefix}:channel:kakao:task-checks"
        self._take_due = client.register_script(_TAKE_DUE)

    async def put(self, check: PendingCheck, due: float) -> None:
        await self._redis.zadd(self.key, {check.encoded(): due})

    async def take_due(
        self, now: float, limit: int, lease: float = LEASE_SECONDS
    ) -> list[PendingCheck]:
        taken = await self._take_due(
            keys=[self.key], args=[repr(now), repr(now + lease), limit]
        )
        checks, unreadable = _decoded(taken)
        if unreadable:
            await self._redis.zrem(self.key, *unreadable)
        return checks

    async def advance(self, done: PendingCheck, then: PendingCheck, due: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.key, done.encoded())
            pipe.zadd(self.key, {then.encoded(): due})
            await pipe.execute()

    async def remove(self, check: PendingCheck) -> None:
        await self._redis.zrem(self.key, check.encoded())

    async def size(self) -> int:
        return int(await self._redis.zcard(self.key))


def _decoded(bodies: Iterable[T]) -> tuple[list[PendingCheck], list[T]]:
    """The checks among ``bodies``, and the bodies that are none (written by
    something else than this module), which are dropped with a warning."""
    checks, unreadable = [], []
    for body in bodies:
        try:
            checks.append(PendingCheck.decoded(body))
        except ValueError as error:
            logger.warning("An unreadable Kakao task check is dropped: %s", error)
            unreadable.append(body)
    return checks, unreadable
