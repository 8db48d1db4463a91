"""The faults: ``kill -9`` of a Rasa server, an action server or a service instance,
and restarts of PostgreSQL and Redis (the test's own servers), each kind as often
as the others, in an order and at moments drawn from a seeded random generator.

A process is killed only while another of its kind answers, so the cluster is
degraded, never without a kind of process; the launcher starts the killed one again
and the time until it answers is its recovery. PostgreSQL and Redis stay down for a
few seconds. While PostgreSQL is down, every service instance and every Rasa server
must report itself unready (503 on ``/health/ready``), and ready again once it is
back: that wait is PostgreSQL's recovery. While PostgreSQL or Redis is down, a
customer's message must be answered with the trouble notice (the ``probe``).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.cluster.cluster import Cluster
from tests.cluster.private_services import PrivatePostgres, PrivateRedis

PROCESS_KINDS = ("rasa", "actions", "handoff")
KINDS = (*PROCESS_KINDS, "postgres", "redis")
RECOVERY_SECONDS = 300.0
UNREADY_SECONDS = 15.0

# One customer message sent while a server is down: its acknowledgement, and
# whether the trouble notice came with it.
Probe = Callable[[], Awaitable[tuple[Any, bool]]]


@dataclass
class Fault:
    kind: str
    target: str
    # Seconds since the faults began.
    at: float
    down_seconds: float | None = None
    recovered_after: float | None = None
    # What was checked while it lasted, e.g. "handoff-1 unready".
    observed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def schedule(count: int, rng: random.Random) -> list[str]:
    """``count`` fault kinds, each kind as often as the others (the first ones
    once more when ``count`` does not divide evenly), in a random order."""
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    return kinds


class FaultInjector:
    def __init__(
        self,
        cluster: Cluster,
        postgres: PrivatePostgres,
        redis: PrivateRedis,
        rng: random.Random,
        *,
        gaps: tuple[float, float],
        probe: Probe,
        instances: int = 2,
    ) -> None:
        self.cluster = cluster
        self.postgres = postgres
        self.redis = redis
        self.rng = rng
        self.gaps = gaps
        self.probe = probe
        self.instances = instances
        self.faults: list[Fault] = []
        self.started = 0.0
        self._recoveries: list[asyncio.Task[None]] = []
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3))

    def names(self, kind: str) -> list[str]:
        return [f"{kind}-{n}" for n in range(1, self.instances + 1)]

    def health_url(self, name: str) -> str:
        base = self.cluster.url(name)
        kind = name.rpartition("-")[0]
        if kind == "rasa":
            return f"{base}/status?token={self.cluster.rasa_token}"
        return f"{base}/api/health" if kind == "handoff" else f"{base}/health"

    async def status(self, url: str) -> int | None:
        try:
            async with self.http.get(url) as answer:
                return answer.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def answers(self, name: str) -> bool:
        return await self.status(self.health_url(name)) == 200

    async def all_answer(self) -> bool:
        names = [name for kind in PROCESS_KINDS for name in self.names(kind)]
        return all(await asyncio.gather(*(self.answers(n) for n in names)))

    async def run(self, count: int) -> None:
        self.started = time.monotonic()
        for kind in schedule(count, self.rng):
            await asyncio.sleep(self.rng.uniform(*self.gaps))
            if kind in PROCESS_KINDS:
                await self.kill(kind)
            elif kind == "postgres":
                await self.restart_postgres()
            else:
                await self.restart_redis()

    async def settle(self) -> None:
        """Until every killed process answers again."""
        await asyncio.gather(*self._recoveries)

    async def close(self) -> None:
        for task in self._recoveries:
            task.cancel()
        await self.http.close()

    def _fault(self, kind: str, target: str) -> Fault:
        fault = Fault(kind, target, round(time.monotonic() - self.started, 1))
        self.faults.append(fault)
        return fault

    # ------------------------------------------------------------ processes

    async def kill(self, kind: str) -> None:
        """Kills one process of ``kind`` once another one of it answers."""
        deadline = time.monotonic() + RECOVERY_SECONDS
        while True:
            answering = [n for n in self.names(kind) if await self.answers(n)]
            if len(answering) >= 2:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"no two {kind} processes answered")
            await asyncio.sleep(1)
        target = self.rng.choice(answering)
        pid = self.cluster.pid(target)
        assert pid is not None, f"no pid file for {target}"
        os.kill(pid, signal.SIGKILL)
        fault = self._fault(kind, target)
        self._recoveries.append(asyncio.create_task(self._recovery(fault, pid)))

    async def _recovery(self, fault: Fault, pid: int) -> None:
        killed = time.monotonic()
        while time.monotonic() - killed < RECOVERY_SECONDS:
            started_again = self.cluster.pid(fault.target) not in (None, pid)
            if started_again and await self.answers(fault.target):
                fault.recovered_after = round(time.monotonic() - killed, 1)
                return
            await asyncio.sleep(0.5)
        fault.problems.append(f"{fault.target} did not come back")

    # ------------------------------------------------------------ servers

    async def _ready(self, name: str) -> int | None:
        return await self.status(f"{self.cluster.url(name)}/health/ready")

    async def restart_postgres(self) -> None:
        fault = self._fault("postgres", "postgres")
        stopped = time.monotonic()
        await asyncio.to_thread(self.postgres.stop, "fast")
        down = self.rng.uniform(3, 8)
        watched = [*self.names("handoff"), *self.names("rasa")]
        unready = await self._until(watched, lambda s: s == 503, UNREADY_SECONDS)
        for name in watched:
            if name in unready:
                fault.observed.append(f"{name} unready")
            elif await self.answers(name):
                fault.problems.append(f"{name} stayed ready without PostgreSQL")
        await self._probe(fault)
        await asyncio.sleep(max(0.0, down - (time.monotonic() - stopped)))
        await asyncio.to_thread(self.postgres.start)
        fault.down_seconds = round(time.monotonic() - stopped, 1)
        restarted = time.monotonic()
        ready = await self._until(watched, lambda s: s == 200, RECOVERY_SECONDS)
        if set(ready) == set(watched):
            fault.recovered_after = round(time.monotonic() - restarted, 1)
        else:
            fault.problems.append(f"not ready again: {sorted(set(watched) - ready)}")

    async def _until(
        self, names: list[str], wanted: object, seconds: float
    ) -> set[str]:
        """The processes whose readiness showed ``wanted`` within ``seconds``; a
        process that does not answer at all (killed meanwhile) is left out."""
        seen: set[str] = set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and len(seen) < len(names):
            for name in names:
                if name not in seen and wanted(await self._ready(name)):  # type: ignore[operator]
                    seen.add(name)
            await asyncio.sleep(0.3)
        return seen

    async def restart_redis(self) -> None:
        fault = self._fault("redis", "redis")
        stopped = time.monotonic()
        await asyncio.to_thread(self.redis.stop)
        down = self.rng.uniform(3, 8)
        await self._probe(fault)
        await asyncio.sleep(max(0.0, down - (time.monotonic() - stopped)))
        await asyncio.to_thread(self.redis.start)
        fault.down_seconds = round(time.monotonic() - stopped, 1)

    async def _probe(self, fault: Fault) -> None:
        try:
            answer, told = await self.probe()
        except TimeoutError:
            fault.problems.append(
                f"the probe customer could not write while {fault.kind} was down"
            )
            return
        refused = isinstance(answer, dict) and answer.get("ok") is False
        if refused and told:
            fault.observed.append("a customer was told of the trouble")
        else:
            fault.problems.append(
                f"a customer's message while {fault.kind} was down: answered"
                f" {answer!r}, told of the trouble: {told}"
            )
