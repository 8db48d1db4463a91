"""Measures the handoff queue under load, on SQLite and on PostgreSQL.

For each database it starts the handoff service as a process (``python -m
handoff``) with a stand-in Rasa on 127.0.0.1, connects 50 agents to the live
feed, queues 1,000 handoffs and measures:

- how fast the agents claim the whole queue (claim throughput);
- customer message → agent: ``POST /api/rasa/events`` until the agent's
  WebSocket receives the frame, at 200 messages/s (baseline: 10 messages/s);
- agent reply → Rasa: ``POST /api/handoffs/{id}/messages`` until the stand-in
  Rasa receives the call, at 200 replies/s;
- the service process's peak resident memory;
- the CPU time each relayed message costs the service, and the load generator.

The service runs pinned to one core, and this process (load generator, agents'
sockets, stand-in Rasa) to another, so the load is not measured with the
service's own CPU; PostgreSQL's server is not pinned.

On PostgreSQL it then starts a second instance on the same database and has
10 agents, spread over both instances, claim each of 1,000 new handoffs at once
(10,000 contested claims), then counts the winners per handoff in the answers
and checks the database agrees.

Prints a Markdown report; ``--write`` puts it into the "Handoff queue" section
of docs/benchmarks.md. Every phase is bounded; the whole run stops after
RUN_TIME_LIMIT_SECONDS.

    .venv/handoff/bin/python -m bench.queue [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import re
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from sqlalchemy import select, text

from bench.queue_load import (
    ContestOutcome,
    Latencies,
    Throughput,
    claim_all,
    contest_claims,
    create_handoffs,
    live_agents,
    relay_agent_replies,
    relay_customer_messages,
    wins_per_handoff,
)
from bench.queue_processes import (
    ROOT,
    Cores,
    ServiceProcess,
    create_agents,
    postgres_database,
    service_process,
    split_cores,
    sqlite_database,
    stand_in_rasa,
)
from handoff.queue.states import HandoffStatus
from handoff.storage.db import create_engine
from handoff.storage.models import Handoff

DOCS = ROOT / "docs" / "benchmarks.md"
SECTION_HEADING = "## Handoff queue"
START_MARKER = "<!-- bench-queue:start -->"
END_MARKER = "<!-- bench-queue:end -->"
POSTGRES_ADMIN_URL = os.environ.get(
    "TANDEM_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
AGENTS = 50
QUEUED = 1000
RATE = 200.0
BASELINE_RATE = 10.0
RELAY_SECONDS = 5.0
BASELINE_SECONDS = 5.0
REPLY_SECONDS = 5.0
CONTENDERS = 20
CONTESTED_HANDOFFS = 500
GOAL_P99_MS = 20.0
RUN_TIME_LIMIT_SECONDS = 25 * 60


@dataclass(frozen=True)
class Phase:
    """An open-loop phase and the CPU time it cost per message sent."""

    latencies: Latencies
    service_cpu_ms: float
    load_cpu_ms: float


async def timed_cpu(service: ServiceProcess, phase: Awaitable[Latencies]) -> Phase:
    service_before, load_before = service.cpu_seconds(), time.process_time()
    latencies = await phase
    sent = max(latencies.sent, 1)
    return Phase(
        latencies,
        service_cpu_ms=(service.cpu_seconds() - service_before) * 1000 / sent,
        load_cpu_ms=(time.process_time() - load_before) * 1000 / sent,
    )


@dataclass(frozen=True)
class DatabaseRun:
    database: str
    create: Throughput
    claim: Throughput
    baseline: Phase
    customer: Phase
    replies: Phase
    peak_rss_bytes: int
    # The machine's 1-minute load average before and after the run.
    load: tuple[float, float]
    contest: ContestOutcome | None = None
    database_disagreements: int = 0
    contest_peak_rss_bytes: Sequence[int] = ()


async def measure(database: str, url: str, folder: Path, cores: Cores) -> DatabaseRun:
    load_before = os.getloadavg()[0]
    secret = secrets.token_urlsafe(16)
    agents = await create_agents(url, AGENTS)
    tokens = [token for _, token in agents]
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        stand_in_rasa() as rasa,
        service_process(
            url, rasa.url, secret, folder, f"{database}-a", cores
        ) as service,
        aiohttp.ClientSession(timeout=timeout, connector=connector) as http,
    ):
        async with live_agents(http, service.url, tokens) as live:
            print(f"[{database}] queueing {QUEUED} handoffs", flush=True)
            queued, create = await create_handoffs(
                http, service.url, secret, QUEUED, "queue"
            )
            print(f"[{database}] {AGENTS} agents claim the queue", flush=True)
            owners, claim = await claim_all(http, service.url, tokens, queued)
            print(f"[{database}] customer messages", flush=True)
            baseline = await timed_cpu(
                service,
                relay_customer_messages(
                    http,
                    service.url,
                    secret,
                    queued,
                    live,
                    BASELINE_RATE,
                    BASELINE_SECONDS,
                    "baseline",
                ),
            )
            customer = await timed_cpu(
                service,
                relay_customer_messages(
                    http, service.url, secret, queued, live, RATE, RELAY_SECONDS, "load"
                ),
            )
            print(f"[{database}] agent replies", flush=True)
            replies = await timed_cpu(
                service,
                relay_agent_replies(
                    http,
                    service.url,
                    owners,
                    rasa.arrivals,
                    RATE,
                    REPLY_SECONDS,
                    "reply",
                ),
            )
        run = DatabaseRun(
            database=database,
            create=create,
            claim=claim,
            baseline=baseline,
            customer=customer,
            replies=replies,
            peak_rss_bytes=service.peak_rss_bytes(),
            load=(load_before, os.getloadavg()[0]),
        )
        if database != "PostgreSQL":
            return run
        async with service_process(
            url, rasa.url, secret, folder, f"{database}-b", cores
        ) as second:
            print(f"[{database}] contested claims on two instances", flush=True)
            contested, _ = await create_handoffs(
                http, service.url, secret, CONTESTED_HANDOFFS, "contest"
            )
            outcome = await contest_claims(
                http, [service.url, second.url], agents, contested, CONTENDERS
            )
            disagreements = await _database_disagreements(url, outcome)
            return dataclasses.replace(
                run,
                contest=outcome,
                database_disagreements=disagreements,
                contest_peak_rss_bytes=[
                    service.peak_rss_bytes(),
                    second.peak_rss_bytes(),
                ],
            )


async def _database_disagreements(url: str, outcome: ContestOutcome) -> int:
    """Contested handoffs whose row does not name exactly the one winner."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Handoff.id, Handoff.status, Handoff.assigned_agent_id).where(
                    Handoff.id.in_(list(outcome.wins))
                )
            )
            stored = {row.id: (row.status, row.assigned_agent_id) for row in rows}
    finally:
        await engine.dispose()
    return sum(
        stored.get(handoff_id) != (HandoffStatus.ASSIGNED, winner)
        for handoff_id, winner in outcome.winners.items()
    )


async def run_all(cores: Cores) -> list[DatabaseRun]:
    runs = []
    with tempfile.TemporaryDirectory(prefix="tandem-bench-queue-") as name:
        folder = Path(name)
        async with sqlite_database(folder) as url:
            runs.append(await measure("SQLite", url, folder, cores))
        async with postgres_database(POSTGRES_ADMIN_URL) as url:
            runs.append(await measure("PostgreSQL", url, folder, cores))
    return runs


# ---------------------------------------------------------------- the report


def machine() -> str:
    cpu = "unknown CPU"
    lscpu = Path("/proc/cpuinfo").read_text(errors="replace")
    found = re.search(r"^model name\s*:\s*(.+)$", lscpu, re.MULTILINE)
    if found:
        cpu = found.group(1).strip()
    cores = os.cpu_count() or 0
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return (
        f"{cores}-core {cpu}, {memory_kib / 1024 / 1024:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


async def postgres_version() -> str:
    engine = create_engine(POSTGRES_ADMIN_URL)
    try:
        async with engine.connect() as connection:
            version = await connection.scalar(text("SHOW server_version"))
    finally:
        await engine.dispose()
    return str(version).split()[0]


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} ms"


def _latency_row(name: str, phase: Phase) -> str:
    latencies = phase.latencies
    return (
        f"| {name} | {latencies.rate:.0f}/s | {latencies.sent} | "
        f"{latencies.failed} | {latencies.lost} | {_ms(latencies.at(0.5))} | "
        f"{_ms(latencies.at(0.99))} | {_ms(max(latencies.delays_ms, default=None))} | "
        f"{phase.service_cpu_ms:.2f} ms | {phase.load_cpu_ms:.2f} ms |"
    )


def _placement(cores: Cores) -> str:
    if cores.service is None:
        return (
            "Service, stand-in Rasa and load generator share the one core, so every "
            "delay includes the load generator's own work."
        )
    return (
        f"The service runs pinned to core {cores.service}, the load generator with "
        f"the agents' sockets and the stand-in Rasa in one process pinned to core "
        f"{cores.load}; PostgreSQL's server is not pinned."
    )


def render(
    runs: Sequence[DatabaseRun], when: datetime, pg_version: str, cores: Cores
) -> str:
    lines = [
        f"Measured {when:%Y-%m-%d %H:%M} UTC on {machine()}; SQLite "
        f"{sqlite3.sqlite_version}, PostgreSQL {pg_version}. {_placement(cores)} "
        "`make bench-queue` (`bench/queue.py`).",
        "",
        f"{AGENTS} agents on the live feed, {QUEUED} queued handoffs. Delays are "
        "open-loop: each request leaves at its scheduled time whether or not earlier "
        "ones were answered; *failed* requests were answered with an error (or not "
        "within 60 s), *lost* ones were accepted but never arrived. *CPU/msg*: CPU "
        "time over the phase divided by the messages sent, of the service process "
        "(all its threads) and of the load generator's process.",
        "",
    ]
    for run in runs:
        sqlite_goal = ""
        if run.database == "SQLite":
            customer = run.customer.latencies
            p99 = customer.at(0.99)
            met = (
                p99 is not None
                and p99 < GOAL_P99_MS
                and customer.failed == 0
                and customer.lost == 0
            )
            sqlite_goal = (
                f" Goal: p99 customer → agent under {GOAL_P99_MS:.0f} ms at "
                f"{RATE:.0f} messages/s — **{'met' if met else 'not met'}**."
            )
        lines += [
            f"### {run.database}",
            "",
            f"Queueing: {run.create.per_second:.0f} handoffs/s. Claiming the whole "
            f"queue, {AGENTS} agents at once: **{run.claim.per_second:.0f} claims/s** "
            f"({run.claim.count} in {run.claim.seconds:.1f} s, "
            f"{run.claim.failed} failed). Peak memory of the service process: "
            f"**{run.peak_rss_bytes / 2**20:.0f} MiB** RSS. Load "
            f"average of the machine before and after: {run.load[0]:.1f}, "
            f"{run.load[1]:.1f}." + sqlite_goal,
            "",
            "| path | rate | sent | failed | lost | p50 | p99 | max "
            "| service CPU/msg | load CPU/msg |",
            "|---|---|---|---|---|---|---|---|---|---|",
            _latency_row("customer → agent (baseline)", run.baseline),
            _latency_row("customer → agent", run.customer),
            _latency_row("agent reply → Rasa", run.replies),
            "",
        ]
        if run.contest is not None:
            spread = wins_per_handoff(run.contest)
            double = sum(count for wins, count in spread.items() if wins > 1)
            none = CONTESTED_HANDOFFS - len(run.contest.wins)
            lines += [
                f"Two service instances on this database: {run.contest.attempts:,} "
                f"contested claims ({CONTENDERS} agents on each of "
                f"{CONTESTED_HANDOFFS:,} handoffs, alternating between the instances) "
                f"in {run.contest.seconds:.1f} s. Handoffs with exactly one winner: "
                f"{spread[1]:,}; with more than one: **{double}**; with none: {none}; "
                f"refused claims (409): {run.contest.refusals:,}. Rows in the database "
                f"that disagree with the one winner: **{run.database_disagreements}**. "
                "Peak memory of the instances: "
                + ", ".join(f"{b / 2**20:.0f} MiB" for b in run.contest_peak_rss_bytes)
                + ".",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def write_section(report: str) -> None:
    document = DOCS.read_text("utf-8")
    block = f"{START_MARKER}\n{report}{END_MARKER}"
    if START_MARKER in document and END_MARKER in document:
        before, rest = document.split(START_MARKER, 1)
        _, after = rest.split(END_MARKER, 1)
        document = before + block + after
    else:
        document = document.rstrip() + f"\n\n{SECTION_HEADING}\n\n{block}\n"
    DOCS.write_text(document, "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--write", action="store_true", help="write the section of docs/benchmarks.md"
    )
    args = parser.parse_args()
    when = datetime.now(UTC)
    cores = split_cores()
    runs = asyncio.run(asyncio.wait_for(run_all(cores), RUN_TIME_LIMIT_SECONDS))
    report = render(runs, when, asyncio.run(postgres_version()), cores)
    print(report)
    if args.write:
        write_section(report)
        print(f"written to {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
