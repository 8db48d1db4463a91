"""Two Rasa servers' lock stores, made to take turns one Redis command at a time.

Each party is a thread with its own event loop and its own lock store, as a Rasa
server would have. Its Redis client is wrapped so that every command first waits for
the party's turn; a driver in the test's thread picks whose command runs next, once
every party is either waiting to send one or done. A schedule is the list of parties
in the order their commands ran, so a run can be replayed exactly, and a search can
try every schedule up to some length.

Inside the critical section each party increments a counter in Redis and decrements
it on the way out, both as scheduled commands: the value the increment returns is
how many parties were inside at that moment, by Redis's one clock.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.asyncio

from bot.lock_store import CHECK_IN, ISSUE, RELEASE, RedisTicketLockStore

REDIS_URL = os.environ.get("TANDEM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STUCK_SECONDS = 20.0
MAX_STEPS = 200
# The commands that touch a lock's state: each is one step of a schedule.
SCHEDULED = {"get", "set", "delete", "incr", "decr", "evalsha", "eval"}
SCRIPT_NAMES = {
    script.sha: name
    for script, name in ((ISSUE, "issue"), (CHECK_IN, "check_in"), (RELEASE, "release"))
}


class ScheduleError(RuntimeError):
    pass


@dataclass
class Step:
    party: str
    command: str
    options: tuple[str, ...]


@dataclass
class Run:
    steps: list[Step] = field(default_factory=list)
    inside: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)

    @property
    def schedule(self) -> list[str]:
        return [step.party for step in self.steps]

    @property
    def most_inside(self) -> int:
        return max((n for seen in self.inside.values() for n in seen), default=0)

    def describe(self) -> str:
        return ", ".join(f"{step.party}:{step.command}" for step in self.steps)


class Turns:
    """Lets one party at a time send one command, in the order a schedule says."""

    def __init__(self, parties: list[str], prefix: list[str]) -> None:
        self._condition = threading.Condition()
        self._parties = parties
        self._running = set(parties)
        self._waiting: dict[str, str] = {}
        self._turn: str | None = None
        self._prefix = prefix
        self.run = Run(inside={party: [] for party in parties})

    def before(self, party: str, command: str) -> None:
        with self._condition:
            self._running.discard(party)
            self._waiting[party] = command
            self._condition.notify_all()
            if not self._condition.wait_for(lambda: self._turn == party, STUCK_SECONDS):
                raise ScheduleError(f"{party} never got its turn")
            del self._waiting[party]

    def after(self, party: str) -> None:
        with self._condition:
            self._turn = None
            self._running.add(party)
            self._condition.notify_all()

    def finished(self, party: str) -> None:
        with self._condition:
            self._running.discard(party)
            self._condition.notify_all()

    def drive(self) -> None:
        """Hands out turns until every party is done."""
        while True:
            with self._condition:
                if not self._condition.wait_for(
                    lambda: self._turn is None and not self._running, STUCK_SECONDS
                ):
                    raise ScheduleError(f"a party is stuck: {self._running}")
                if not self._waiting:
                    return
                if len(self.run.steps) >= MAX_STEPS:
                    raise ScheduleError(f"no end after {MAX_STEPS} steps")
                options = tuple(p for p in self._parties if p in self._waiting)
                chosen = self._choose(options)
                self.run.steps.append(Step(chosen, self._waiting[chosen], options))
                self._turn = chosen
                self._condition.notify_all()

    def _choose(self, options: tuple[str, ...]) -> str:
        step = len(self.run.steps)
        if step < len(self._prefix):
            chosen = self._prefix[step]
            if chosen not in options:
                raise ScheduleError(
                    f"step {step}: {chosen} has no command to send; {options} do"
                )
            return chosen
        # After the prefix, round robin: a party polling for the lock never starves
        # the one holding it.
        if self.run.steps:
            last = self._parties.index(self.run.steps[-1].party)
            for offset in range(1, len(self._parties) + 1):
                party = self._parties[(last + offset) % len(self._parties)]
                if party in options:
                    return party
        return options[0]


class ScheduledSyncClient:
    """A redis-py client whose state-changing commands wait for their turn."""

    def __init__(self, client: Any, turns: Turns, party: str) -> None:
        self._client, self._turns, self._party = client, turns, party

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in SCHEDULED:
            return attribute

        def scheduled(*args: Any, **kwargs: Any) -> Any:
            self._turns.before(self._party, name)
            try:
                return attribute(*args, **kwargs)
            finally:
                self._turns.after(self._party)

        return scheduled


class ScheduledAsyncClient(ScheduledSyncClient):
    """The same for a redis.asyncio client. Waiting for a turn blocks the party's
    event loop, which is the party's alone."""

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in SCHEDULED:
            return attribute

        async def scheduled(*args: Any, **kwargs: Any) -> Any:
            self._turns.before(self._party, SCRIPT_NAMES.get(args[0], name))
            try:
                return await attribute(*args, **kwargs)
            finally:
                self._turns.after(self._party)

        return scheduled


PartyBody = Callable[[str, Turns, str, str], None]


def rasa_party(party: str, turns: Turns, prefix: str, counter: str) -> None:
    """One lock and unlock through Rasa 3.6's RedisLockStore."""
    from rasa.core.lock_store import RedisLockStore

    address = urlsplit(REDIS_URL)
    store = RedisLockStore(
        host=address.hostname or "127.0.0.1",
        port=address.port or 6379,
        db=int(address.path.strip("/") or 0),
        password=address.password,
        key_prefix=prefix,
    )
    client = ScheduledSyncClient(store.red, turns, party)
    store.red = client  # type: ignore[assignment]

    async def once() -> None:
        async with store.lock("conversation", wait_time_in_seconds=0):
            turns.run.inside[party].append(int(client.incr(counter)))
            client.decr(counter)

    try:
        asyncio.run(once())
    finally:
        store.red.close()


def tandem_party(party: str, turns: Turns, prefix: str, counter: str) -> None:
    """One lock and unlock through bot.lock_store.RedisTicketLockStore."""

    async def once() -> None:
        plain = redis.asyncio.Redis.from_url(REDIS_URL)
        client = ScheduledAsyncClient(plain, turns, party)
        # A long lease: no renewal runs within a schedule.
        store = RedisTicketLockStore(
            redis=client, key_prefix=prefix, lease_seconds=60, poll_seconds=0.001
        )
        try:
            async with store.lock("conversation"):
                turns.run.inside[party].append(int(await client.incr(counter)))
                await client.decr(counter)
        finally:
            await plain.close()

    asyncio.run(once())


def load_scripts() -> None:
    """Caches the lock store's scripts in Redis, so that no schedule begins with a
    refused EVALSHA."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for script in (ISSUE, CHECK_IN, RELEASE):
            client.script_load(script.source)
    finally:
        client.close()


def run_schedule(body: PartyBody, prefix: list[str], parties: int = 2) -> Run:
    """Runs ``parties`` lock-and-unlock attempts on one conversation, the first steps
    in the order of ``prefix``, the rest in turn."""
    names = [chr(ord("a") + i) for i in range(parties)]
    turns = Turns(names, prefix)
    key_prefix = f"schedule{uuid.uuid4().hex[:12]}"
    counter = f"{key_prefix}:inside"

    def party_thread(name: str) -> None:
        try:
            body(name, turns, key_prefix, counter)
        except BaseException as error:
            turns.run.errors[name] = error
        finally:
            turns.finished(name)

    threads = [threading.Thread(target=party_thread, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    try:
        turns.drive()
    finally:
        for thread in threads:
            thread.join(STUCK_SECONDS)
        _delete_keys(key_prefix)
    return turns.run


def every_schedule(body: PartyBody, depth: int) -> Iterator[Run]:
    """Every run whose first ``depth`` choices differ (stateless depth-first search
    over whose command goes next; after ``depth`` steps, round robin)."""
    pending: list[list[str]] = [[]]
    while pending:
        prefix = pending.pop()
        run = run_schedule(body, prefix)
        yield run
        for index in range(len(prefix), min(depth, len(run.steps))):
            step = run.steps[index]
            for other in step.options:
                if other != step.party:
                    pending.append([s.party for s in run.steps[:index]] + [other])


def _delete_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
