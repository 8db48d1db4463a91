"""The clustered stack under load: conversations a second, reply latency, memory and
CPU of every process, for the cluster of ``make run-cluster`` with one, two and three
Rasa servers against the single stack of ``make run`` (the baseline) measured beside
it in the same run. Writes the "Clustered stack" section of docs/benchmarks.md.

    .venv/handoff/bin/python -m bench.cluster [--rasa 1,2,3] [--customers 12]
        [--conversations 100] [--no-write] [--save results.json]

Every stack starts on free ports on 127.0.0.1, with databases, Redis keys and files
of its own. The single stack stays up for the whole run; each cluster is started
beside it and stopped (its databases dropped, its keys deleted) before the next, so
at most the single stack and one cluster are in memory. With each cluster, both are
measured phase by phase in turn, so a busy moment of the shared machine falls on
both: one customer at a time (latency without queueing), ``--customers`` at once
(throughput), agents' replies to handed-off customers. Every phase is a fixed number
of conversations or replies, not a duration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from bench.cluster_load import (
    TURNS_PER_CONVERSATION,
    ConversationResult,
    ReplyResult,
    first_replies,
    handed_off,
    hold_conversations,
    send_replies,
)
from bench.cluster_measures import first_bottleneck, latency_summary, rate
from bench.cluster_processes import AGENTS, MODEL, Target, cluster, single_stack
from bench.cluster_report import (
    LOAD_GENERATOR,
    POSTGRES,
    REDIS,
    machine_description,
    render,
    write_section,
)
from bench.cluster_sampling import (
    CORES,
    CpuShares,
    cpu_between,
    postgres_backends,
    read_groups,
    redis_servers,
    resident_mib,
)
from handoff.vocabulary import DEFAULT_CAPACITY

ROOT = Path(__file__).resolve().parents[1]
MAX_RASA_SERVERS = 9
T = TypeVar("T")


@dataclass(frozen=True)
class Plan:
    rasa_servers: tuple[int, ...]
    customers: int
    conversations: int
    single_conversations: int
    handoffs: int
    replies_each: int


def _groups(target: Target) -> dict[str, list[int]]:
    """The processes whose CPU is read: the stack's, its databases', the load's."""
    groups = {name: [tracked.pid] for name, tracked in target.processes.items()}
    if target.databases:
        groups[POSTGRES] = postgres_backends(target.databases)
        groups[REDIS] = redis_servers()
    groups[LOAD_GENERATOR] = [os.getpid()]
    return groups


def _cpu_summary(shares: CpuShares, messages: int) -> dict[str, Any]:
    """Each group's share of a core and CPU a message, the machine's busy cores, the
    part of them none of the measured processes used, and the first bottleneck
    (the load generator and the databases are candidates too: a saturated load
    generator would bound what the stack is asked to do). Redis is the whole
    server, which is shared, but it costs little."""
    per_message = {
        name: cores * shares.seconds * 1000 / messages
        for name, cores in shares.by_group.items()
    }
    return {
        "seconds": shares.seconds,
        "cores": shares.by_group,
        "cpu_ms_per_message": per_message,
        # What a message costs the stack and its databases, whoever else runs.
        "stack_cpu_ms_per_message": sum(
            value for name, value in per_message.items() if name != LOAD_GENERATOR
        ),
        "machine_busy": shares.machine_busy,
        "other_work": max(0.0, shares.machine_busy - sum(shares.by_group.values())),
        "load_before": shares.load_before,
        "load_after": shares.load_after,
        "bottleneck": first_bottleneck(shares.by_group, shares.machine_busy, CORES),
    }


async def _with_cpu(
    groups: dict[str, list[int]], phase: Callable[[], Awaitable[T]]
) -> tuple[T, CpuShares]:
    before = read_groups(groups)
    outcome = await phase()
    return outcome, cpu_between(before, read_groups(groups))


def _conversations_json(result: ConversationResult) -> dict[str, Any]:
    messages = len(result.latencies_ms)
    return {
        "customers": result.customers,
        "seconds": result.seconds,
        "conversations": result.conversations,
        "messages": messages,
        "conversations_per_s": rate(result.conversations, result.seconds),
        "messages_per_s": rate(messages, result.seconds),
        "latency": latency_summary(result.latencies_ms),
        "open": latency_summary(result.open_ms),
        "errors": dict(result.errors),
        "servers": dict(result.servers),
    }


def _replies_json(result: ReplyResult) -> dict[str, Any]:
    replies = len(result.same_server_ms) + len(result.across_ms)
    return {
        "handoffs": result.handoffs,
        "seconds": result.seconds,
        "replies": replies,
        "replies_per_s": rate(replies, result.seconds),
        "same_server": latency_summary(result.same_server_ms),
        "across_servers": latency_summary(result.across_ms),
        "errors": dict(result.errors),
    }


def _memory(target: Target) -> dict[str, tuple[float, float]]:
    """Resident memory now and at its peak, in MiB, of each of the stack's processes."""
    memory = {}
    for name, tracked in target.processes.items():
        reading = resident_mib(tracked.pid)
        if reading is not None:
            memory[name] = reading
    return memory


def _memory_json(
    at_start: dict[str, tuple[float, float]], at_end: dict[str, tuple[float, float]]
) -> dict[str, dict[str, float]]:
    return {
        name: {
            "after_start": at_start[name][0],
            "after_load": at_end[name][0],
            "peak": at_end[name][1],
        }
        for name in at_end
        if name in at_start
    }


def _log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


async def warm_up(target: Target) -> None:
    """A conversation on each Rasa server (HAProxy gives new chats to each in turn):
    lazily built state (the first tracker, the first action call) is not load."""
    _log(f"{target.label}: warming up")
    await hold_conversations(target, target.rasa_servers, target.rasa_servers)


async def one_customer(target: Target, plan: Plan) -> dict[str, Any]:
    _log(f"{target.label}: one customer")
    alone = await hold_conversations(target, 1, plan.single_conversations)
    return _conversations_json(alone)


async def many_customers(target: Target, plan: Plan) -> dict[str, Any]:
    _log(f"{target.label}: {plan.customers} customers")
    crowd, cpu = await _with_cpu(
        _groups(target),
        lambda: hold_conversations(target, plan.customers, plan.conversations),
    )
    crowd_json = _conversations_json(crowd)
    return {**crowd_json, "cpu": _cpu_summary(cpu, max(crowd_json["messages"], 1))}


async def agents_replies(target: Target, plan: Plan) -> dict[str, Any]:
    _log(f"{target.label}: agents' replies")
    async with handed_off(target, plan.handoffs) as conversations:
        await first_replies(conversations)
        replies, cpu = await _with_cpu(
            # After the handoffs: the service's database connections are open.
            _groups(target),
            lambda: send_replies(target, conversations, plan.replies_each),
        )
    replies_json = _replies_json(replies)
    return {**replies_json, "cpu": _cpu_summary(cpu, max(replies_json["replies"], 1))}


async def measure_pair(
    single: Target, clustered: Target, plan: Plan, single_at_start: dict[str, Any]
) -> dict[str, Any]:
    """The single stack and one cluster, phase by phase in turn (the cluster first
    in every other phase), so a busy moment of the shared machine falls on both."""
    await warm_up(clustered)
    cluster_at_start = _memory(clustered)
    sides: dict[str, dict[str, Any]] = {"single": {}, "cluster": {}}
    stacks = {"single": single, "cluster": clustered}
    phases = (
        ("one_customer", one_customer, ("single", "cluster")),
        ("customers", many_customers, ("cluster", "single")),
        ("replies", agents_replies, ("single", "cluster")),
    )
    for phase, measure, order in phases:
        for side in order:
            sides[side][phase] = await measure(stacks[side], plan)
    for side, at_start in (("single", single_at_start), ("cluster", cluster_at_start)):
        sides[side]["label"] = stacks[side].label
        sides[side]["memory_mib"] = _memory_json(at_start, _memory(stacks[side]))
    return {"rasa_servers": clustered.rasa_servers, **sides}


def run(plan: Plan, model: Path, save: Path | None = None) -> dict[str, Any]:
    """The single stack stays up; each cluster is started beside it, measured in
    turn with it and stopped before the next. With ``save``, the results so far are
    written there after each cluster, so a run cut short keeps what it measured."""
    started = datetime.now(UTC)
    pairs: list[dict[str, Any]] = []

    def results() -> dict[str, Any]:
        return {
            "date": started.strftime("%Y-%m-%d %H:%M UTC"),
            "minutes": (datetime.now(UTC) - started).total_seconds() / 60,
            "machine": machine_description(),
            "plan": {
                "customers": plan.customers,
                "conversations": plan.conversations,
                "single_conversations": plan.single_conversations,
                "turns_per_conversation": TURNS_PER_CONVERSATION,
                "handoffs": plan.handoffs,
                "replies_each": plan.replies_each,
            },
            "pairs": pairs,
        }

    with tempfile.TemporaryDirectory(prefix="tandem-bench-cluster-") as name:
        folder = Path(name)
        (folder / "single").mkdir()
        _log("starting the single stack")
        with single_stack(folder / "single", model) as single:
            asyncio.run(warm_up(single))
            single_at_start = _memory(single)
            for count in plan.rasa_servers:
                (folder / f"cluster-{count}").mkdir()
                _log(f"starting the cluster with {count} Rasa")
                with cluster(folder / f"cluster-{count}", model, count) as clustered:
                    pairs.append(
                        asyncio.run(
                            measure_pair(single, clustered, plan, single_at_start)
                        )
                    )
                if save is not None:
                    save.write_text(json.dumps(results(), indent=2), "utf-8")
    return results()


def _rasa_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--rasa takes counts separated by commas, like 1,2,3, not {text!r}"
        ) from None
    if not counts or not all(1 <= count <= MAX_RASA_SERVERS for count in counts):
        raise argparse.ArgumentTypeError(
            f"each count of Rasa servers must be from 1 to {MAX_RASA_SERVERS}"
        )
    return counts


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0, not {text}")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa", type=_rasa_counts, default=(1, 2, 3))
    parser.add_argument("--customers", type=_positive, default=12)
    parser.add_argument(
        "--conversations", type=_positive, default=100, help="with all customers"
    )
    parser.add_argument(
        "--single-conversations", type=_positive, default=8, help="one at a time"
    )
    parser.add_argument("--handoffs", type=_positive, default=6)
    parser.add_argument("--replies", type=_positive, default=15, help="per handoff")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--no-write", action="store_true", help="print, don't write")
    parser.add_argument("--save", type=Path, help="also write the results as JSON")
    parser.add_argument("--results", type=Path, help="report an earlier run's JSON")
    arguments = parser.parse_args()
    most = len(AGENTS) * DEFAULT_CAPACITY
    if arguments.handoffs > most:
        parser.error(f"--handoffs: the agents take at most {most} conversations")
    if arguments.results:
        results = json.loads(arguments.results.read_text("utf-8"))
    else:
        if not arguments.model.exists():
            parser.error(f"no trained model at {arguments.model}: run 'make train'")
        # Stopped from outside, the stacks must still be stopped on the way out.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        plan = Plan(
            rasa_servers=arguments.rasa,
            customers=arguments.customers,
            conversations=arguments.conversations,
            single_conversations=arguments.single_conversations,
            handoffs=arguments.handoffs,
            replies_each=arguments.replies,
        )
        results = run(plan, arguments.model.resolve(), arguments.save)
    report = render(results)
    print(report)
    if not arguments.no_write:
        write_section(report)
        print("wrote the 'Clustered stack' section of docs/benchmarks.md")


if __name__ == "__main__":
    main()
