"""The load the queue benchmark puts on the service, phase by phase.

Every phase is bounded (a fixed number of requests, or a fixed rate for a fixed
time) and waits a bounded time for stragglers, so a run always ends.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp

from handoff.analytics.statistics import percentile

T = TypeVar("T")

IN_FLIGHT = 32
# Handoffs whose claims are in flight together during the contest.
CONTESTED_AT_ONCE = 3
STRAGGLER_SECONDS = 10.0
STRAGGLER_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class QueuedHandoff:
    id: int
    sender_id: str


@dataclass(frozen=True)
class Throughput:
    count: int
    seconds: float
    failed: int = 0

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Latencies:
    """Delays in milliseconds of one open-loop phase."""

    sent: int
    # Answered with an error (or not at all): the service refused the load.
    failed: int
    received: int
    delays_ms: Sequence[float]
    rate: float

    @property
    def lost(self) -> int:
        """Accepted by the service but never delivered."""
        return self.sent - self.failed - self.received

    def at(self, fraction: float) -> float | None:
        return percentile(self.delays_ms, fraction)


@dataclass
class LiveAgents:
    """Agents connected to the live feed; when each customer message arrived."""

    sockets: list[aiohttp.ClientWebSocketResponse] = field(default_factory=list)
    arrivals: dict[str, float] = field(default_factory=dict)
    frames: int = 0

    async def read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for message in socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            arrived = time.perf_counter()
            self.frames += 1
            frame = json.loads(message.data)
            if frame.get("type") == "message.created":
                self.arrivals.setdefault(frame["message"]["text"], arrived)


@asynccontextmanager
async def live_agents(
    http: aiohttp.ClientSession, url: str, tokens: Sequence[str]
) -> AsyncIterator[LiveAgents]:
    agents = LiveAgents()
    readers = []
    try:
        for token in tokens:
            socket = await http.ws_connect(f"{url}/api/ws", params={"token": token})
            ready = await socket.receive_json(timeout=10)
            assert ready["type"] == "feed.ready", ready
            agents.sockets.append(socket)
            readers.append(asyncio.create_task(agents.read(socket)))
        yield agents
    finally:
        for socket in agents.sockets:
            await socket.close()
        await asyncio.gather(*readers, return_exceptions=True)


async def create_handoffs(
    http: aiohttp.ClientSession, url: str, secret: str, count: int, prefix: str
) -> tuple[list[QueuedHandoff], Throughput]:
    async def create(index: int) -> QueuedHandoff:
        sender_id = f"{prefix}-{index:05d}"
        # As with the bot: the conversation starts, then the customer asks.
        opening = [
            {
                "event": "session_started",
                "sender_id": sender_id,
                "timestamp": time.time(),
            },
            customer_message(sender_id, "상담원 연결해 주세요"),
        ]
        await _post(http, f"{url}/api/rasa/events", secret, {"events": opening}, {202})
        body = {
            "sender_id": sender_id,
            "channel": "socketio",
            "language": "ko",
            "reason": "human_requested",
            "transcript": [],
        }
        created = await _post(http, f"{url}/api/rasa/handoffs", secret, body, {201})
        return QueuedHandoff(int(created["id"]), sender_id)

    started = time.perf_counter()
    handoffs = await _bounded([functools.partial(create, i) for i in range(count)])
    return list(handoffs), Throughput(count, time.perf_counter() - started)


async def claim_all(
    http: aiohttp.ClientSession,
    url: str,
    tokens: Sequence[str],
    handoffs: Sequence[QueuedHandoff],
) -> tuple[dict[int, str], Throughput]:
    """Every agent claims its share of the queue, all agents at once."""
    owners: dict[int, str] = {}
    failed = 0

    async def work(token: str, share: Sequence[QueuedHandoff]) -> None:
        nonlocal failed
        for handoff in share:
            try:
                await _post(
                    http, f"{url}/api/handoffs/{handoff.id}/claim", token, None, {200}
                )
            except (RuntimeError, aiohttp.ClientError, TimeoutError):
                failed += 1
                continue
            owners[handoff.id] = token

    shares = [handoffs[index :: len(tokens)] for index in range(len(tokens))]
    started = time.perf_counter()
    await asyncio.gather(*(work(t, s) for t, s in zip(tokens, shares, strict=True)))
    return owners, Throughput(len(owners), time.perf_counter() - started, failed)


async def relay_customer_messages(
    http: aiohttp.ClientSession,
    url: str,
    secret: str,
    handoffs: Sequence[QueuedHandoff],
    agents: LiveAgents,
    rate: float,
    seconds: float,
    label: str,
) -> Latencies:
    """Customer messages at ``rate`` per second, ingested → agent's WebSocket."""
    targets = itertools.cycle(handoffs)

    async def send(text: str) -> None:
        event = customer_message(next(targets).sender_id, text)
        await _post(http, f"{url}/api/rasa/events", secret, {"events": [event]}, {202})

    return await _open_loop(send, agents.arrivals, rate, seconds, label)


async def relay_agent_replies(
    http: aiohttp.ClientSession,
    url: str,
    owners: dict[int, str],
    rasa_arrivals: dict[str, float],
    rate: float,
    seconds: float,
    label: str,
) -> Latencies:
    """Agent replies at ``rate`` per second, posted → arrived at (stand-in) Rasa."""
    assigned = itertools.cycle(sorted(owners.items()))

    async def send(text: str) -> None:
        handoff_id, token = next(assigned)
        await _post(
            http,
            f"{url}/api/handoffs/{handoff_id}/messages",
            token,
            {"text": text},
            {201},
        )

    return await _open_loop(send, rasa_arrivals, rate, seconds, label)


@dataclass(frozen=True)
class ContestOutcome:
    attempts: int
    seconds: float
    wins: Counter[int]
    refusals: int
    winners: dict[int, int]


async def contest_claims(
    http: aiohttp.ClientSession,
    urls: Sequence[str],
    agent_tokens: Sequence[tuple[int, str]],
    handoffs: Sequence[QueuedHandoff],
    contenders: int,
) -> ContestOutcome:
    """``contenders`` agents claim each handoff at once, spread over the instances."""
    wins: Counter[int] = Counter()
    winners: dict[int, int] = {}
    refusals = 0

    async def claim(handoff_id: int, agent_id: int, token: str, url: str) -> None:
        nonlocal refusals
        async with http.post(
            f"{url}/api/handoffs/{handoff_id}/claim",
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            await response.read()
            if response.status == 200:
                wins[handoff_id] += 1
                winners[handoff_id] = agent_id
            elif response.status == 409:
                refusals += 1
            else:
                raise RuntimeError(f"claim answered {response.status}")

    async def contest(index: int, handoff: QueuedHandoff) -> None:
        await asyncio.gather(
            *(
                claim(
                    handoff.id,
                    *agent_tokens[(index + offset) % len(agent_tokens)],
                    urls[offset % len(urls)],
                )
                for offset in range(contenders)
            )
        )

    started = time.perf_counter()
    # Each handoff's claims go out together; a few handoffs are contested at once.
    await _bounded(
        [functools.partial(contest, i, h) for i, h in enumerate(handoffs)],
        limit=CONTESTED_AT_ONCE,
    )
    return ContestOutcome(
        attempts=len(handoffs) * contenders,
        seconds=time.perf_counter() - started,
        wins=wins,
        refusals=refusals,
        winners=winners,
    )


async def _open_loop(
    send: Callable[[str], Coroutine[Any, Any, None]],
    arrivals: dict[str, float],
    rate: float,
    seconds: float,
    label: str,
) -> Latencies:
    # Open loop: each request leaves at its scheduled time whether or not the
    # earlier ones were answered, so a slow service shows up as delay.
    count = int(rate * seconds)
    sent: dict[str, float] = {}
    failed: set[str] = set()

    async def attempt(text: str) -> None:
        sent[text] = time.perf_counter()
        try:
            await send(text)
        except (RuntimeError, aiohttp.ClientError, TimeoutError):
            failed.add(text)

    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for index in range(count):
        pause = started + index / rate - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        tasks.append(asyncio.create_task(attempt(f"{label} {index}")))
    await asyncio.gather(*tasks)
    # Arrivals are recorded by other tasks (socket readers, the stand-in Rasa).
    for _ in range(int(STRAGGLER_SECONDS / STRAGGLER_POLL_SECONDS)):
        if len(arrivals.keys() & sent.keys()) >= len(sent) - len(failed):
            break
        await asyncio.sleep(STRAGGLER_POLL_SECONDS)
    # A request that failed on the client's side may still have been delivered.
    delays = [(arrivals[t] - at) * 1000 for t, at in sent.items() if t in arrivals]
    return Latencies(
        sent=count,
        failed=len(failed - arrivals.keys()),
        received=len(delays),
        delays_ms=delays,
        rate=rate,
    )


def customer_message(sender_id: str, text: str) -> dict[str, Any]:
    return {
        "event": "user",
        "sender_id": sender_id,
        "timestamp": time.time(),
        "text": text,
        "parse_data": {"language": "ko"},
        "input_channel": "socketio",
    }


async def _post(
    http: aiohttp.ClientSession,
    url: str,
    bearer: str,
    body: Any,
    expected: set[int],
) -> Any:
    # Encoded here, not by aiohttp's JSON payload: the load generator shares a
    # core with the stand-in Rasa, and its own work is part of every delay.
    data = b"" if body is None else json.dumps(body).encode("utf-8")
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
    async with http.post(url, data=data, headers=headers) as response:
        payload = await response.read()
        if response.status not in expected:
            raise RuntimeError(f"{url} answered {response.status}: {payload[:300]!r}")
        return json.loads(payload) if payload else None


async def _bounded(
    jobs: Sequence[Callable[[], Awaitable[T]]], limit: int = IN_FLIGHT
) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(run(job) for job in jobs)))


def wins_per_handoff(outcome: ContestOutcome) -> Counter[int]:
    """How many handoffs had 0, 1, 2, … winning claims."""
    spread: Counter[int] = Counter()
    for count in outcome.wins.values():
        spread[count] += 1
    return spread
