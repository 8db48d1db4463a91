"""Faults on the running cluster while customers and agents talk.

The cluster of `make run-cluster` (two of each process, HAProxy, restarts on
failure) runs on a PostgreSQL and a Redis server of the test's own
(tests/cluster/private_services.py). Four customers at a time ask for a person and
write to the agent who takes them; two agents claim, reply and close. Meanwhile
tests/cluster/fault_injection.py kills Rasa servers, action servers and service
instances with ``kill -9`` and restarts PostgreSQL and Redis, ``TANDEM_FAULTS`` times
in all (5 here, 20 for ``make test-faults``), at moments drawn from a seeded random
generator: the seed is printed, and ``TANDEM_FAULTS_SEED`` replays the same faults in
the same order at the same moments (the traffic around them differs with timing).

Once the faults stop, every killed process has answered again and the conversations
under way have ended, every message is accounted for (tests/cluster/message_ledger.py
says what counts as sent): none lost, none doubled for the other party or in the
service's database, no conversation paused without an open handoff, no handoff
assigned twice; and while PostgreSQL or Redis was down, the service and the Rasa
servers reported themselves unready and a customer writing was told of the trouble.
Last, the cluster is stopped with SIGTERM while messages are on their way
(tests/cluster/graceful_stop.py): each is answered, and none answered as done is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import asyncpg
import pytest

from tests.cluster.cluster import ROOT, Cluster, running_cluster
from tests.cluster.fault_clients import Board, FaultAgent, FaultCustomer, now
from tests.cluster.fault_injection import FaultInjector
from tests.cluster.graceful_stop import stop_in_flight
from tests.cluster.message_ledger import (
    Ledger,
    Stored,
    Transition,
    duplicates_on_the_socket,
    problems,
)
from tests.cluster.private_services import (
    PrivatePostgres,
    missing_programs,
    private_services,
)

pytestmark = pytest.mark.cluster

MODEL = Path(os.environ.get("TANDEM_TEST_MODEL", ROOT / "models" / "tandem.tar.gz"))
FAULTS = int(os.environ.get("TANDEM_FAULTS", "") or 5)
SEED = os.environ.get("TANDEM_FAULTS_SEED", "")
REPORT = os.environ.get("TANDEM_FAULTS_REPORT", "")
CUSTOMERS = 4
# Messages each side writes in one conversation.
MESSAGES = 3
# Seconds between two faults.
GAPS = (4.0, 12.0)
CONVERSATION_SECONDS = 420.0
# Every customer of the test comes from 127.0.0.1, which the service's abuse limits
# would soon refuse more handoffs and chat sessions.
LIMITS_FOR_ONE_ADDRESS = {
    "TANDEM_HANDOFFS_PER_ADDRESS": "100000",
    "TANDEM_CHAT_SESSIONS_PER_ADDRESS": "100000",
}
SETTLE_SECONDS = 480.0


@dataclass
class Report:
    seed: int
    faults: list[dict[str, Any]] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


async def database_rows(
    postgres: PrivatePostgres, name: str
) -> tuple[list[Stored], list[Transition], set[str]]:
    connection = await asyncpg.connect(
        host="127.0.0.1", port=postgres.port, user="postgres", database=name
    )
    try:
        messages = await connection.fetch(
            "SELECT id, handoff_id, role, text, delivery FROM messages"
            " WHERE role IN ('user', 'agent')"
        )
        transitions = await connection.fetch(
            "SELECT t.handoff_id, t.to_status, t.actor, a.username"
            " FROM handoff_transitions t"
            " LEFT JOIN agents a ON a.id = t.assigned_agent_id"
        )
        open_senders = await connection.fetch(
            "SELECT sender_id FROM handoffs WHERE status IN ('queued', 'assigned')"
        )
    finally:
        await connection.close()
    return (
        [
            Stored(
                row["id"], row["handoff_id"], row["role"], row["text"], row["delivery"]
            )
            for row in messages
        ],
        [
            Transition(row["handoff_id"], row["to_status"], row["actor"], row[3])
            for row in transitions
        ],
        {row["sender_id"] for row in open_senders},
    )


async def paused(cluster: Cluster, session_ids: list[str]) -> set[str]:
    """The conversations a Rasa server holds as paused."""
    found = set()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        for session_id in session_ids:
            url = (
                f"{cluster.url('rasa-1')}/conversations/{quote(session_id, safe='')}"
                f"/tracker?include_events=NONE&token={cluster.rasa_token}"
            )
            async with http.get(url) as answer:
                assert answer.status == 200, await answer.text()
                if (await answer.json()).get("paused"):
                    found.add(session_id)
    return found


async def scenario(
    cluster: Cluster, postgres: PrivatePostgres, redis: Any, seed: int
) -> Report:
    report = Report(seed)
    clients_rng = random.Random(seed + 1)
    ledger = Ledger()
    board = Board(MESSAGES)
    public = cluster.public_url
    agents = [
        FaultAgent(
            public,
            "mina",
            cluster.staff_password,
            ledger,
            board,
            clients_rng,
            online=False,
        ),
        FaultAgent(
            public,
            "joon",
            cluster.staff_password,
            ledger,
            board,
            clients_rng,
            online=True,
        ),
    ]
    probe = FaultCustomer(public, Ledger(), Board(0), clients_rng)

    async def probe_once() -> tuple[Any, bool]:
        # Long enough for the bot's database or lock to fail, short of a reconnect.
        await asyncio.sleep(1)
        return await probe.try_once("요금 조회해 주세요", now() + 60)

    injector = FaultInjector(
        cluster, postgres, redis, random.Random(seed), gaps=GAPS, probe=probe_once
    )
    conversations = Counter[str]()

    async def seat() -> None:
        customer = FaultCustomer(public, ledger, board, clients_rng)
        while not board.stopping.is_set():
            await customer.converse(now() + CONVERSATION_SECONDS)
            conversations["held"] += 1
            conversations["customer reconnects"] += customer.reconnects
            customer.reconnects = 0

    seats: list[asyncio.Task[None]] = []
    began = time.monotonic()
    try:
        for agent in agents:
            await agent.start(now() + 60)
        await probe.open(now() + 60)
        seats = [asyncio.create_task(seat()) for _ in range(CUSTOMERS)]
        # Conversations under way before the first fault.
        await asyncio.sleep(8)
        await injector.run(FAULTS)
        faults_took = time.monotonic() - began
        board.stopping.set()
        await asyncio.wait_for(injector.settle(), SETTLE_SECONDS)
        await asyncio.wait_for(asyncio.gather(*seats), SETTLE_SECONDS)
        for agent in agents:
            for handoff_id in agent.working:
                await agent.read_handoff(handoff_id)
        stored, transitions, open_senders = await database_rows(postgres, cluster.name)
        session_ids = [pairing.session_id for pairing in board.pairings.values()]
        stuck = sorted(
            session_id[:8]
            for session_id in await paused(cluster, session_ids)
            if session_id not in open_senders
        )
    finally:
        for task in seats:
            task.cancel()
        for task in seats:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for agent in agents:
            await agent.stop()
        await probe.close()
        await injector.close()

    report.faults = [asdict(fault) for fault in injector.faults]
    report.problems = [p for fault in injector.faults for p in fault.problems]
    report.problems += problems(ledger, stored, transitions, stuck)
    customer = list(ledger.customer_messages.values())
    replies = list(ledger.agent_replies.values())
    report.numbers = {
        "faults": len(injector.faults),
        "seconds of faults": round(faults_took),
        "seconds in all": round(time.monotonic() - began),
        "conversations": conversations["held"],
        "handoffs claimed": sum(len(w) for w in ledger.claims_won.values()),
        "customer messages acknowledged": sum(m.acknowledged for m in customer),
        "customer messages never acknowledged": sum(
            not m.acknowledged for m in customer
        ),
        "customer sends": sum(m.attempts for m in customer),
        "customer messages refused with the trouble notice": sum(
            m.refused for m in customer
        ),
        "trouble notices": ledger.trouble_notices,
        "customer reconnects": conversations["customer reconnects"],
        "agent replies accepted": sum(r.accepted for r in replies),
        "agent replies never accepted": sum(not r.accepted for r in replies),
        "agent sends": sum(r.attempts for r in replies),
        "agent send outcomes": dict(
            Counter(str(status) for r in replies for status in r.statuses)
        ),
        "agent replies received again by the page": duplicates_on_the_socket(ledger),
        "agent feed reconnects": sum(agent.feed_reconnects for agent in agents),
    }
    return report


def test_no_message_is_lost_or_doubled_while_processes_and_servers_fail(
    tmp_path: Path,
) -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run 'make train' first")
    if missing := missing_programs():
        pytest.fail(
            "the fault suite runs servers of its own and needs " + ", ".join(missing)
        )
    seed = int(SEED) if SEED else random.SystemRandom().randrange(2**31)
    print(
        f"\nFault injection: {FAULTS} faults, seed {seed} (TANDEM_FAULTS_SEED={seed})"
    )
    with private_services() as (postgres, redis):
        server = postgres.url.replace("postgresql://", "postgresql+asyncpg://")
        with running_cluster(
            MODEL,
            tmp_path,
            "--rasa",
            "2",
            "--actions",
            "2",
            "--services",
            "2",
            postgres_url=server,
            redis_url=redis.url,
            settings=LIMITS_FOR_ONE_ADDRESS,
        ) as cluster:
            try:
                report = asyncio.run(scenario(cluster, postgres, redis, seed))
                print(json.dumps(asdict(report), indent=2, ensure_ascii=False))
                # Last, as it stops the cluster.
                numbers, stop_problems = asyncio.run(stop_in_flight(cluster, postgres))
            except BaseException:
                print(cluster.log_tail(150))
                raise
            report.numbers["stopped with messages in flight"] = numbers
            report.problems += stop_problems
    text = json.dumps(asdict(report), indent=2, ensure_ascii=False)
    print("Stopped with messages in flight:", numbers, stop_problems)
    if REPORT:
        Path(REPORT).write_text(text + "\n", "utf-8")
    assert report.problems == [], f"seed {seed}: {report.problems}"
