"""Bot reply latency: the REST round trip (``POST /webhooks/rest/webhook``) of Tandem
against a vanilla ``rasa init`` bot measured in the same run, at 1 and 10 concurrent
conversations. Writes the "Bot reply latency" section of docs/benchmarks.md.

    .venv/bot/bin/python -m bench.latency [--rounds 2] [--no-write]

Everything listens on 127.0.0.1 on free ports and stops when the run ends; every
load phase is a fixed number of conversations. The bots take turns phase by phase,
so a busy moment of the machine does not fall on one bot only. A third server runs
Tandem's model without the SQL tracker store and the event broker, and each bot's
``POST /model/parse`` is timed alone, to show where Tandem's time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from bench.latency_parts import measure as measure_parts
from bench.latency_processes import TANDEM_MODEL, Bot, start_tandem, start_vanilla
from bench.latency_profile import median_steps
from bench.nlu_report import machine_description, replace_section

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "benchmarks.md"
SECTION = "Bot reply latency"
REQUEST_TIMEOUT_SECONDS = 60

# Conversations that stay with the bot: a greeting, a bill question with the demo
# customer's number, a sign-up question; Korean and English in turn.
TANDEM_CONVERSATIONS = [
    ["안녕하세요", "010-1234-5678 이번 달 요금 얼마예요?", "가입 방법 알려주세요"],
    ["hello", "how much is my bill? my number is 010-1234-5678", "how do I sign up?"],
]
VANILLA_CONVERSATIONS = [
    ["hello", "I am feeling great", "bye"],
    ["hi there", "very good", "goodbye"],
]
PARSE_TEXTS = {
    "tandem": [text for turns in TANDEM_CONVERSATIONS for text in turns],
    "vanilla": [text for turns in VANILLA_CONVERSATIONS for text in turns],
}
# (concurrent conversations, conversations per worker) of one phase.
PHASES = [(1, 20), (10, 6)]
PARSES_PER_ROUND = 60
PROFILED_CONVERSATIONS = 20
PROFILE_ROWS = 8
GOAL_RATIO = 1.3
FALLBACK_ACTIONS = frozenset(
    {"action_core_fallback", "action_default_fallback", "action_ask_to_rephrase"}
)
CHANGES = """
What the dialogue costs since 2026-12-01: Tandem's model has no `TEDPolicy` (it learns
from stories only, and `data/stories/` has one; the rules and forms pass all 66 test
stories without it) and runs Rasa's `ResponseSelector` and the two count-vector
featurizers only it reads on FAQ messages only (`bot/nlu/faq_only.py`). The tracker
store keeps the latest conversations in memory (`bot/conversation_cache.py`), so a turn
reads nothing back from the database; the intent classifier builds its n-gram features
without scikit-learn's and scipy's per-call overhead (a third of the time a message);
the demo back end keeps its SQLite file in WAL mode. py-spy on Tandem's Rasa server,
before these changes, put about a quarter of its CPU in TED's predictions, a tenth in
the `ResponseSelector` and a fifth in the tracker store. The previous run of this
benchmark (2026-12-01, on a 2-core Intel Xeon, before these changes) measured 2.57× at
one conversation and 2.96× at ten. Absolute times depend on the machine more than the
ratio does: that run's `POST /model/parse` took 9 ms at p50 for Tandem and 6 ms for
vanilla, against this run's figures above; vanilla's parse (TensorFlow's DIET) changes
more from one machine to another than Tandem's (numpy and scikit-learn).
"""

ADVICE = """
Tandem misses the goal. What is left at one conversation is the NLU parse (the sentence
encoder, about 3 ms of CPU a message) and the action server calls of the turns that
start a form (each sends the whole conversation, which Rasa serialises and the action
server parses). At ten conversations one Rasa process does all the work on two cores it
shares with Tandem's action server and handoff service. What would close the gap: fewer
action server calls on common turns, and more than one Rasa process behind a shared
lock store, on more than two cores.
"""


@dataclass
class Samples:
    latencies_ms: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    parse_ms: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    senders: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    steps_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    not_understood: dict[str, list[str]] = field(default_factory=dict)

    def add(self, bot: str, concurrency: int, values: Sequence[float]) -> None:
        self.latencies_ms.setdefault((bot, concurrency), []).extend(values)


async def _conversation(
    session: aiohttp.ClientSession,
    bot: Bot,
    turns: list[str],
    samples: Samples,
    concurrency: int = 0,
) -> list[float]:
    sender = f"bench-{uuid.uuid4().hex}"
    samples.senders.setdefault((bot.name, concurrency), []).append(sender)
    latencies = []
    for text in turns:
        started = time.perf_counter()
        async with session.post(
            f"{bot.url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            headers=bot.rest_headers(),
        ) as response:
            replies = await response.json() if response.status == 200 else None
        latencies.append((time.perf_counter() - started) * 1000)
        if not replies:
            key = f"{bot.name}: {text}"
            samples.failures[key] = samples.failures.get(key, 0) + 1
    return latencies


async def _phase(
    session: aiohttp.ClientSession,
    bot: Bot,
    conversations: list[list[str]],
    concurrency: int,
    per_worker: int,
    samples: Samples,
) -> None:
    async def worker(index: int) -> list[float]:
        latencies: list[float] = []
        for number in range(per_worker):
            turns = conversations[(index + number) % len(conversations)]
            latencies += await _conversation(session, bot, turns, samples, concurrency)
        return latencies

    results = await asyncio.gather(*(worker(index) for index in range(concurrency)))
    samples.add(
        bot.name, concurrency, [value for result in results for value in result]
    )


async def _parses(
    session: aiohttp.ClientSession, bot: Bot, texts: list[str], samples: Samples
) -> None:
    for number in range(PARSES_PER_ROUND):
        started = time.perf_counter()
        async with session.post(
            f"{bot.url}/model/parse?token={bot.token}",
            json={"text": texts[number % len(texts)]},
        ) as response:
            response.raise_for_status()
            await response.read()
        elapsed = (time.perf_counter() - started) * 1000
        samples.parse_ms.setdefault(bot.name, []).append(elapsed)


async def measure(bots: list[tuple[Bot, list[list[str]], str]], rounds: int) -> Samples:
    samples = Samples()
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for bot, conversations, _ in bots:
            # Lazily built state (first tracker, first action call) is not latency.
            for turns in conversations:
                await _conversation(session, bot, turns, Samples())
        for round_number in range(rounds):
            for concurrency, per_worker in PHASES:
                for bot, conversations, _ in bots:
                    print(
                        f"{time.strftime('%H:%M:%S')} round {round_number + 1}: "
                        f"{bot.name}, {concurrency} concurrent",
                        flush=True,
                    )
                    await _phase(
                        session, bot, conversations, concurrency, per_worker, samples
                    )
            for bot, _, parse_set in bots:
                await _parses(session, bot, PARSE_TEXTS[parse_set], samples)
        for bot, _, _ in bots:
            samples.steps_ms[bot.name] = await _profile(session, bot, samples)
    return samples


async def _profile(
    session: aiohttp.ClientSession, bot: Bot, samples: Samples
) -> dict[str, float]:
    """Median step times over the conversations held one at a time."""
    trackers = []
    for sender in samples.senders[(bot.name, 1)][:PROFILED_CONVERSATIONS]:
        async with session.get(
            f"{bot.url}/conversations/{sender}/tracker?token={bot.token}"
        ) as response:
            response.raise_for_status()
            trackers.append((await response.json())["events"])
    samples.not_understood[bot.name] = sorted(
        {text for events in trackers for text in not_understood(events)}
    )
    return median_steps(trackers)


def not_understood(events: list[dict[str, Any]]) -> list[str]:
    """The customer messages of a conversation that the bot answered with a fallback."""
    texts = []
    latest = ""
    for event in events:
        if event.get("event") == "user":
            latest = str(event.get("text") or "")
        elif event.get("event") == "action" and event.get("name") in FALLBACK_ACTIONS:
            texts.append(latest)
    return texts


def summary(samples: Samples) -> dict[str, Any]:
    def stats(values: Sequence[float]) -> dict[str, float]:
        array = np.asarray(values)
        return {
            "count": int(array.size),
            "p50_ms": float(np.percentile(array, 50)),
            "p99_ms": float(np.percentile(array, 99)),
        }

    return {
        "round_trip": {
            f"{bot}@{concurrency}": stats(values)
            for (bot, concurrency), values in samples.latencies_ms.items()
        },
        "parse": {bot: stats(values) for bot, values in samples.parse_ms.items()},
        "failures": samples.failures,
        "steps_ms": samples.steps_ms,
        "not_understood": samples.not_understood,
    }


def model_name(model: Path) -> str:
    model = model.resolve()
    return str(model.relative_to(ROOT)) if model.is_relative_to(ROOT) else str(model)


def steps_table(steps: dict[str, dict[str, float]]) -> str:
    """Median time of each step of a turn inside Rasa, the slowest of Tandem first."""
    names = ("tandem", "tandem-bare", "vanilla")
    if not all(name in steps for name in names):
        return "(no tracker profile in this run)"
    # A step that runs in fewer than half the turns has a median of zero.
    labels = sorted(
        {
            label
            for name in names
            for label, milliseconds in steps[name].items()
            if milliseconds >= 0.5
        }
        - {"total"},
        key=lambda label: -steps["tandem"].get(label, 0.0),
    )
    lines = [
        "| step of a turn (median) | Tandem | Tandem without tracker store, broker "
        "| vanilla |",
        "|---|---|---|---|",
    ]
    for label in [*labels[:PROFILE_ROWS], "total"]:
        cells = " | ".join(
            f"{steps[name][label]:.0f} ms" if label in steps[name] else "–"
            for name in names
        )
        lines.append(f"| `{label}` | {cells} |")
    return "\n".join(lines)


def parts_table(parts: dict[str, dict[str, float]]) -> str:
    """Rasa's own code beside Tandem's replacement, timed in the benchmark's process."""
    if not parts:
        return "(not timed in this run)"
    rows = [
        ("checking an action server response (a form's answer)", "response_check_ms"),
        (
            "a turn's read and save in the SQL tracker store, SQLite file, with a "
            "broker (median over a 12-turn conversation)",
            "tracker_store_turn_ms",
        ),
    ]
    lines = [
        "| step | Rasa 3.6 | Tandem | Tandem, conversations cached (`endpoints.yml`) |",
        "|---|---|---|---|",
    ]
    for label, key in rows:
        cached = parts[key].get("tandem_cached")
        lines.append(
            f"| {label} | {parts[key]['rasa']:.1f} ms | {parts[key]['tandem']:.1f} ms "
            f"| {'–' if cached is None else f'{cached:.1f} ms'} |"
        )
    return "\n".join(lines)


def report(results: dict[str, Any], machine: str) -> str:
    trips, parse = results["round_trip"], results["parse"]
    rows = []
    for concurrency, _ in PHASES:
        tandem, bare, vanilla = (
            trips[f"{name}@{concurrency}"]
            for name in ("tandem", "tandem-bare", "vanilla")
        )
        rows.append(
            f"| {concurrency} | {vanilla['p50_ms']:.0f} / {vanilla['p99_ms']:.0f} ms "
            f"| {tandem['p50_ms']:.0f} / {tandem['p99_ms']:.0f} ms "
            f"| **{tandem['p50_ms'] / vanilla['p50_ms']:.2f}× / "
            f"{tandem['p99_ms'] / vanilla['p99_ms']:.2f}×** "
            f"| {bare['p50_ms']:.0f} / {bare['p99_ms']:.0f} ms |"
        )
    table = "\n".join(rows)
    worst_ratio = max(
        trips[f"tandem@{concurrency}"]["p50_ms"]
        / trips[f"vanilla@{concurrency}"]["p50_ms"]
        for concurrency, _ in PHASES
    )
    header = (
        "| concurrent conversations | vanilla p50 / p99 | Tandem p50 / p99 "
        "| Tandem ÷ vanilla (p50 / p99) "
        "| Tandem without SQL tracker store and broker |\n|---|---|---|---|---|"
    )
    requests = ", ".join(
        f"{trips[f'vanilla@{concurrency}']['count']} at {concurrency}"
        for concurrency, _ in PHASES
    )
    misread = (
        "; ".join(
            f"{bot}: " + ", ".join(f"“{text}”" for text in texts)
            for bot, texts in results.get("not_understood", {}).items()
            if texts and bot != "tandem-bare"
        )
        or "none"
    )
    failures = (
        "; ".join(f"{where} ({count}×)" for where, count in results["failures"].items())
        or "none"
    )
    return f"""
`make bench-latency` (`bench/latency.py`) times `POST /webhooks/rest/webhook` from
request to reply at 1 and 10 concurrent conversations, three turns each that stay
with the bot (a greeting, a bill question with the demo customer's number, a sign-up
question; Korean and English in turn). The baseline is a vanilla `rasa init` bot
(its own stories, CountVectors + DIET + TED, in-memory trackers, its action server)
measured in the same run, the bots taking turns phase by phase. Tandem's model:
{results["model"]}. Measured on {machine},
{results["date"]}, with no other benchmark, build or test running. Goal: Tandem
within {GOAL_RATIO}× of vanilla.

{header}
{table}

Requests timed per bot: {requests} concurrent. Turns answered with no reply at all:
{failures}. Messages answered with a fallback (the bot did not understand them):
{misread}.

Where Tandem's time goes: `POST /model/parse` alone (the NLU pipeline without any
dialogue) takes {parse["tandem"]["p50_ms"]:.0f} ms at p50 for Tandem
({parse["tandem"]["p99_ms"]:.0f} ms p99) against
{parse["vanilla"]["p50_ms"]:.0f} ms ({parse["vanilla"]["p99_ms"]:.0f} ms) for vanilla;
the last column runs Tandem's model with in-memory trackers and no event broker, so
its difference to the Tandem column is what the SQL tracker store and the broker
cost. Inside Rasa, from the customer's message (stamped once understood) to the bot
listening again, the median time of each step over all turns of the conversations
held one at a time, read from the tracker's event timestamps (`slot event` ends when
`bot.escalation_policy` books the message's language and mood, inside the first
prediction; the next step is the rest of that prediction and the predicted action,
with its action server call if it has one; `action_listen` is the prediction after the
reply; a step that runs in fewer than half the turns has a median of 0 and is left
out, so the steps do not add up to the total):

{steps_table(results.get("steps_ms", {}))}

Two steps Tandem does differently from Rasa, each timed beside Rasa's own code in the
benchmark's process (`bench/latency_parts.py`): Rasa validates every action server
response with `jsonschema.validate`, which checks Rasa's constant schema against the
JSON Schema meta-schema first (`bot/remote_action_validation.py` checks it once); and
Rasa's SQL tracker store syncs SQLite's rollback journal on every commit, opens a
connection per session and reads the conversation twice to save it
(`bot/tracker_store.py`: one pooled connection in WAL mode, one read; with the latest
conversations cached, as `endpoints.yml` sets it, no read at all). The language and
mood bookkeeping no longer calls the action server at all (`bot/message_tracking.py`).

{parts_table(results.get("parts_ms", {}))}
{CHANGES}{ADVICE if worst_ratio > GOAL_RATIO else ""}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of all phases")
    parser.add_argument(
        "--model", type=Path, default=TANDEM_MODEL, help="Tandem's trained model"
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print, don't write docs"
    )
    parser.add_argument(
        "--results", type=Path, help="report the results JSON of an earlier run"
    )
    arguments = parser.parse_args()
    if arguments.rounds < 1:
        parser.error("--rounds must be at least 1")
    # Stopped from outside, the servers must still be stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if arguments.results:
        results = json.loads(arguments.results.read_text("utf-8"))
    else:
        with tempfile.TemporaryDirectory(prefix="tandem-bench-latency-") as name:
            folder = Path(name)
            with ExitStack() as stack:
                print(f"{time.strftime('%H:%M:%S')} starting the servers", flush=True)
                tandem, bare = start_tandem(stack, folder, arguments.model.resolve())
                vanilla = start_vanilla(stack, folder)
                bots = [
                    (tandem, TANDEM_CONVERSATIONS, "tandem"),
                    (bare, TANDEM_CONVERSATIONS, "tandem"),
                    (vanilla, VANILLA_CONVERSATIONS, "vanilla"),
                ]
                samples = asyncio.run(measure(bots, arguments.rounds))
        print(f"{time.strftime('%H:%M:%S')} timing the parts", flush=True)
        results = {
            "date": time.strftime("%Y-%m-%d"),
            "model": f"`{model_name(arguments.model)}`",
            **summary(samples),
            "parts_ms": measure_parts(),
        }
        print(json.dumps(results, indent=2, ensure_ascii=False))
    body = report(results, machine_description())
    if arguments.no_write:
        print(body)
    else:
        replace_section(DOCUMENT, SECTION, body)
        print(f"wrote the '{SECTION}' section of {DOCUMENT}")


if __name__ == "__main__":
    main()
