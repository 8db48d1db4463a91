"""The Markdown the cluster benchmark writes to docs/benchmarks.md, from its results.

The generated part sits between markers under the "Clustered stack" heading, so the
reading of the numbers written below it by hand stays when the benchmark runs again.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "benchmarks.md"
HEADING = "## Clustered stack"
START_MARKER = "<!-- bench-cluster:start -->"
END_MARKER = "<!-- bench-cluster:end -->"
# The groups of processes besides the stack's own.
POSTGRES = "PostgreSQL (the run's databases)"
REDIS = "Redis (whole server)"
LOAD_GENERATOR = "load generator"
KIND_ORDER = ("rasa", "actions", "handoff", "haproxy")
KIND_NAMES = {
    "rasa": "Rasa",
    "actions": "action server",
    "handoff": "service",
    "haproxy": "HAProxy",
}


def cpu_model(cpuinfo_text: str) -> str:
    found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo_text, re.MULTILINE)
    return found.group(1).strip() if found else "unknown CPU"


def memory_gib(meminfo_text: str) -> float:
    found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo_text, re.MULTILINE)
    return int(found.group(1)) / 1024 / 1024 if found else 0.0


def machine_description() -> str:
    """Cores, CPU model, memory and system of this machine."""
    cpuinfo = Path("/proc/cpuinfo").read_text("utf-8", errors="replace")
    meminfo = Path("/proc/meminfo").read_text("utf-8", errors="replace")
    return (
        f"{os.cpu_count()}-core {cpu_model(cpuinfo)}, {memory_gib(meminfo):.0f} GiB "
        f"RAM, {platform.system()} {platform.release()}, Python "
        f"{platform.python_version()} (the load)"
    )


def process_kind(name: str) -> str:
    """``rasa`` of ``rasa-2`` (or of the single stack's ``rasa``)."""
    kind = name.rpartition("-")[0] if name[-1:].isdigit() else name
    if kind not in KIND_ORDER:
        raise ValueError(f"not a process of the stack: {name}")
    return kind


def by_kind(values: Mapping[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """The stack's processes grouped by kind, in the order of the tables; other
    names (the databases, the load) are left out."""
    grouped: dict[str, list[tuple[str, Any]]] = {}
    for name in sorted(values):
        try:
            kind = process_kind(name)
        except ValueError:
            continue
        grouped.setdefault(kind, []).append((name, values[name]))
    return grouped


def _ms(value: float) -> str:
    return f"{value:,.0f} ms"


def _latency(summary: Mapping[str, float]) -> str:
    if not summary["count"]:
        return "–"
    return f"{_ms(summary['p50_ms'])} / {_ms(summary['p99_ms'])}"


def _ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}×" if baseline else "–"


def _errors(errors: Mapping[str, int]) -> str:
    return "; ".join(f"{kind} ({count})" for kind, count in errors.items()) or "0"


def _load(cpu: Mapping[str, Any]) -> str:
    return f"{cpu['load_before'][0]:.1f} → {cpu['load_after'][0]:.1f}"


def rows(
    pairs: list[dict[str, Any]],
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each measured stack with its run's label and the single stack measured beside
    it (itself, for the single stack's rows)."""
    found = []
    for pair in pairs:
        run = f"with {pair['rasa_servers']} Rasa"
        found.append((run, pair["single"], pair["single"]))
        found.append((run, pair["cluster"], pair["single"]))
    return found


def customers_table(pairs: list[dict[str, Any]]) -> str:
    customers = pairs[0]["single"]["customers"]["customers"]
    lines = [
        "| run | stack | conversations/s | messages/s | ÷ single stack | reply p50 / "
        f"p99, {customers} customers | reply p50 / p99, one customer "
        "| opening a chat, p50 | stack CPU a message | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run, stack, single in rows(pairs):
        crowd, alone = stack["customers"], stack["one_customer"]
        ratio = _ratio(crowd["messages_per_s"], single["customers"]["messages_per_s"])
        lines.append(
            f"| {run} | {stack['label']} | {crowd['conversations_per_s']:.2f} "
            f"| {crowd['messages_per_s']:.1f} | **{ratio}** "
            f"| {_latency(crowd['latency'])} | {_latency(alone['latency'])} "
            f"| {_ms(crowd['open']['p50_ms'])} "
            f"| {_ms(crowd['cpu']['stack_cpu_ms_per_message'])} "
            f"| {_errors({**crowd['errors'], **alone['errors']})} |"
        )
    return "\n".join(lines)


def replies_table(pairs: list[dict[str, Any]]) -> str:
    lines = [
        "| run | stack | replies/s | ÷ single stack | p50 / p99, customer on the "
        "Rasa server the service calls | p50 / p99, customer on another (through "
        "Redis) | stack CPU a reply | busiest process | machine busy | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run, stack, single in rows(pairs):
        replies = stack["replies"]
        busiest = max(
            by_kind_flat(replies["cpu"]["cores"]).items(), key=lambda item: item[1]
        )
        ratio = _ratio(replies["replies_per_s"], single["replies"]["replies_per_s"])
        lines.append(
            f"| {run} | {stack['label']} | {replies['replies_per_s']:.1f} | {ratio} "
            f"| {_latency(replies['same_server'])} "
            f"| {_latency(replies['across_servers'])} "
            f"| {_ms(replies['cpu']['stack_cpu_ms_per_message'])} "
            f"| {busiest[0]} ({busiest[1]:.2f} of a core) "
            f"| {replies['cpu']['machine_busy']:.2f} "
            f"| {_errors(replies['errors'])} |"
        )
    return "\n".join(lines)


def by_kind_flat(values: Mapping[str, float]) -> dict[str, float]:
    """The stack's own processes only, by name."""
    return {name: value for group in by_kind(values).values() for name, value in group}


def _cpu_cell(cpu: Mapping[str, Any], names: list[str]) -> str:
    return ", ".join(
        f"{cpu['cores'][name]:.2f} ({cpu['cpu_ms_per_message'][name]:.0f} ms)"
        for name in names
    )


def cpu_table(pairs: list[dict[str, Any]]) -> str:
    lines = [
        "| run | stack | Rasa (each) | action server | service | HAProxy "
        "| PostgreSQL | Redis | load generator | machine busy | other work "
        "| load average | first bottleneck |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run, stack, _ in rows(pairs):
        cpu = stack["customers"]["cpu"]
        kinds = by_kind(cpu["cores"])
        cells = [
            _cpu_cell(cpu, [name for name, _ in kinds.get(kind, [])]) or "–"
            for kind in KIND_ORDER
        ]
        extra = [
            _cpu_cell(cpu, [name]) if name in cpu["cores"] else "–"
            for name in (POSTGRES, REDIS, LOAD_GENERATOR)
        ]
        lines.append(
            f"| {run} | {stack['label']} | {' | '.join(cells)} | {' | '.join(extra)} "
            f"| {cpu['machine_busy']:.2f} | {cpu['other_work']:.2f} | {_load(cpu)} "
            f"| {cpu['bottleneck']} |"
        )
    return "\n".join(lines)


def memory_table(pairs: list[dict[str, Any]]) -> str:
    """The single stack after the whole run, and each cluster after its load."""
    lines = [
        "| stack | Rasa (each) | action server | service | HAProxy |",
        "|---|---|---|---|---|",
    ]
    stacks = [pair["cluster"] for pair in pairs] + [pairs[-1]["single"]]
    for stack in stacks:
        kinds = by_kind(stack["memory_mib"])
        cells = []
        for kind in KIND_ORDER:
            readings = kinds.get(kind, [])
            cells.append(
                ", ".join(
                    f"{reading['after_load']:,.0f} MiB (peak {reading['peak']:,.0f})"
                    for _, reading in readings
                )
                or "–"
            )
        lines.append(f"| {stack['label']} | {' | '.join(cells)} |")
    return "\n".join(lines)


def render(results: Mapping[str, Any]) -> str:
    pairs = results["pairs"]
    plan = results["plan"]
    counts = ", ".join(str(pair["rasa_servers"]) for pair in pairs)
    return f"""Measured {results["date"]} on {results["machine"]}, shared with other
work (its CPU is the *other work* column below). `make bench-cluster`
(`bench/cluster.py`), {results["minutes"]:.0f} minutes.

The baseline is the single stack of `make run` (Rasa, action server and service, on
SQLite). It stays up for the whole run; the cluster of `make run-cluster` with
{counts} Rasa servers, one action server and one service instance behind HAProxy, on
PostgreSQL and Redis, is started beside it, one size at a time, and the two are
measured phase by phase in turn (*run* names the cluster each single-stack row was
measured beside), so a busy moment of the shared machine falls on both. Simulated
web chat customers do what the chat page does — a session id from the service,
socket.io by long polling upgraded to a WebSocket, through HAProxy for the cluster —
and hold conversations of {plan["turns_per_conversation"]} turns (greeting, plan
catalogue with an action server call, a frequently asked question, thanks; Korean and
English in turn) in a closed loop without think time: the next message leaves when
the bot's answer to the last has arrived, the next conversation when the last ended.
A reply's latency runs from the send to the message that ends the bot's answer. Per
stack and run: {plan["conversations"]} conversations with {plan["customers"]}
customers at once, {plan["single_conversations"]} with one customer at a time, after a
warm-up of one conversation per Rasa server.

{customers_table(pairs)}

*Stack CPU a message*: the CPU time of the stack's processes and its databases (the
PostgreSQL backends of the run's databases, the Redis server) in the phase with
{plan["customers"]} customers, divided by the messages answered — what a message costs
whatever else the machine does, the figure the sizing of docs/deployment.md starts
from.

Agents' replies: {plan["handoffs"]} customers ask for a person, two agents claim
them through the service's API and send {plan["replies_each"]} replies to each, one
after the other per conversation, all conversations at once; a reply's latency runs
from the agent's request to its arrival on the customer's socket. The cluster's
service sends every reply through `rasa-1` (`--service-calls-rasa`), so a customer
HAProxy put on another Rasa server gets it through Redis's socket.io channel.

{replies_table(pairs)}

CPU during the phase with {plan["customers"]} customers, as the share of one core
each process kept busy (all its threads, from `/proc/<pid>/stat`), and in brackets
its CPU a customer message. PostgreSQL counts the backends connected to the run's
databases; Redis is the whole server, which other work may use too. *Machine busy*
is the machine's busy cores (`/proc/stat`), *other work* what none of the listed
processes used; the load average is the 1-minute one before and after the phase.
The first bottleneck is the busiest measured process (the stack's, the databases',
the load generator's) if it kept 0.85 of a core busy, else the machine's cores if
they were 90 % busy.

{cpu_table(pairs)}

Resident memory (`VmRSS` of `/proc/<pid>/status`) after the load, and its peak
(`VmHWM`); the single stack's after the whole run:

{memory_table(pairs)}
"""


def write_section(report: str, document: Path = DOCUMENT) -> None:
    """Replaces what is between the markers, or appends the section with them."""
    text = document.read_text("utf-8")
    block = f"{START_MARKER}\n{report.strip()}\n{END_MARKER}"
    if START_MARKER in text and END_MARKER in text:
        before, rest = text.split(START_MARKER, 1)
        _, after = rest.split(END_MARKER, 1)
        text = before + block + after
    else:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"
    document.write_text(text, "utf-8")
