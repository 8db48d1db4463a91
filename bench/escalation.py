"""Measures when the bot hands off, on the labelled set in tests/escalation/.

Starts the real stack (scripts/run_stack.py) on free ports with its databases in a
temporary folder and business hours forced open, like the end-to-end tests. Sends each
labelled message as a new conversation and each labelled conversation turn by turn
through Rasa's REST channel, then asks the handoff service, as the supervisor, which
customers were handed off and why. Prints the report, writes the "Knowing when to hand
off" section of docs/benchmarks.md and the per-item results to
results/escalation/outcomes.json (the stack's log beside them).

    .venv/handoff/bin/python -m bench.escalation [--model models/tandem.tar.gz]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from bench.escalation_scoring import Outcome, RunFacts, render_report, replace_section
from bench.escalation_set import (
    ROOT,
    LabelledConversation,
    LabelledMessage,
    LabelledSetError,
    load_conversations,
    load_messages,
)
from tests.e2e.stack import Stack, running_stack

DEFAULT_MODEL = ROOT / "models" / "tandem.tar.gz"
DOCS = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "results" / "escalation" / "outcomes.json"
STACK_LOG = ROOT / "results" / "escalation" / "stack.log"
SECTION_HEADING = "## Knowing when to hand off"
SUPERVISOR = "sora"
REQUEST_TIMEOUT_SECONDS = 60
# The whole run ends by itself: a stuck stack fails the benchmark instead of hanging.
# About ten minutes on an idle 2-core machine; the limit leaves room for a busy one.
RUN_TIME_LIMIT_SECONDS = 30 * 60
# Handoffs the bot created for a customer, in every state a fresh one can be in.
HANDOFF_STATES = ("queued", "offline")
PROGRESS_EVERY = 50


class BenchError(RuntimeError):
    """The stack answered something the benchmark cannot measure with."""


@dataclasses.dataclass(frozen=True)
class Handoff:
    reason: str | None
    trigger: str | None
    status: str


class Probe:
    """The customer side (Rasa's REST channel and its tracker) and the supervisor side
    (the handoff service's queue) of one benchmark run."""

    def __init__(self, stack: Stack, session: aiohttp.ClientSession) -> None:
        self.stack = stack
        self.session = session
        self.run_id = uuid.uuid4().hex[:8]
        self.supervisor_token = ""

    def sender(self, item_id: str) -> str:
        return f"bench-{self.run_id}-{item_id}"

    async def log_in(self) -> None:
        body = await self._json(
            "POST",
            f"{self.stack.handoff_url}/api/auth/login",
            json={"username": SUPERVISOR, "password": self.stack.agent_password},
        )
        self.supervisor_token = str(body["token"])

    async def say(self, sender: str, text: str) -> None:
        await self._json(
            "POST",
            f"{self.stack.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            headers={"Authorization": f"Bearer {self.stack.rest_token}"},
        )

    async def latest_intent(self, sender: str) -> tuple[str | None, float | None]:
        tracker = await self._json(
            "GET",
            f"{self.stack.rasa_url}/conversations/{sender}/tracker",
            params={"token": self.stack.rasa_token},
        )
        # Not latest_message: a fallback rewinds the message and empties that.
        for event in reversed(tracker.get("events") or []):
            if event.get("event") == "user":
                intent = (event.get("parse_data") or {}).get("intent") or {}
                return intent.get("name"), intent.get("confidence")
        return None, None

    async def queue(self) -> dict[str, dict[str, Any]]:
        """This run's handoffs, as the listing shows them, by sender id."""
        found: dict[str, dict[str, Any]] = {}
        for status in HANDOFF_STATES:
            listing = await self._json(
                "GET",
                f"{self.stack.handoff_url}/api/handoffs",
                params={"status": status},
                headers=self._supervisor(),
            )
            for handoff in listing["handoffs"]:
                sender = str(handoff["sender_id"])
                if sender.startswith(f"bench-{self.run_id}-"):
                    found[sender] = handoff
        return found

    async def handoff_of(self, sender: str) -> Handoff | None:
        listed = (await self.queue()).get(sender)
        return None if listed is None else await self.described(listed)

    async def described(self, listed: dict[str, Any]) -> Handoff:
        trigger = listed.get("trigger")
        if trigger is None:
            # The listing may not carry the trigger; what the bot posted always does.
            detail = await self._json(
                "GET",
                f"{self.stack.handoff_url}/api/handoffs/{listed['id']}",
                headers=self._supervisor(),
            )
            trigger = (detail.get("context") or {}).get("trigger")
        return Handoff(
            reason=listed.get("reason"), trigger=trigger, status=listed["status"]
        )

    def _supervisor(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.supervisor_token}"}

    async def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        async with self.session.request(method, url, **kwargs) as response:
            if response.status >= 300:
                text = (await response.text())[:500]
                raise BenchError(f"{method} {url} answered {response.status}: {text}")
            return await response.json()


async def measure_messages(
    probe: Probe, messages: Sequence[LabelledMessage], concurrency: int
) -> list[Outcome]:
    """Each message as the first of its own conversation; one look at the queue after
    all of them, since every message has its own sender."""
    intents: dict[str, tuple[str | None, float | None]] = {}

    async def send(message: LabelledMessage) -> None:
        sender = probe.sender(message.id)
        await probe.say(sender, message.text)
        intents[message.id] = await probe.latest_intent(sender)

    await _bounded("messages", concurrency, [partial(send, m) for m in messages])
    queue = await probe.queue()
    outcomes = []
    for message in messages:
        listed = queue.get(probe.sender(message.id))
        handoff = None if listed is None else await probe.described(listed)
        intent, confidence = intents[message.id]
        outcomes.append(
            Outcome(
                kind="message",
                item_id=message.id,
                text=message.text,
                label=message.label,
                handed_off=handoff is not None,
                reason=handoff.reason if handoff else None,
                trigger=handoff.trigger if handoff else None,
                status=handoff.status if handoff else None,
                intent=intent,
                confidence=confidence,
            )
        )
    return outcomes


async def measure_conversations(
    probe: Probe, conversations: Sequence[LabelledConversation], concurrency: int
) -> list[Outcome]:
    """Each conversation turn by turn, looking at the queue after every turn; once the
    customer is handed off the bot is paused, so the remaining turns are not sent."""
    outcomes: dict[str, Outcome] = {}

    async def converse(conversation: LabelledConversation) -> None:
        sender = probe.sender(conversation.id)
        handoff: Handoff | None = None
        sent: list[str] = []
        for text in conversation.turns:
            await probe.say(sender, text)
            sent.append(text)
            handoff = await probe.handoff_of(sender)
            if handoff is not None:
                break
        intent, confidence = await probe.latest_intent(sender)
        outcomes[conversation.id] = Outcome(
            kind="conversation",
            item_id=conversation.id,
            text=" / ".join(sent),
            label=conversation.label,
            handed_off=handoff is not None,
            reason=handoff.reason if handoff else None,
            trigger=handoff.trigger if handoff else None,
            status=handoff.status if handoff else None,
            handoff_turn=len(sent) if handoff else None,
            handoff_by_turn=conversation.handoff_by_turn,
            intent=intent,
            confidence=confidence,
        )

    await _bounded(
        "conversations", concurrency, [partial(converse, c) for c in conversations]
    )
    return [outcomes[conversation.id] for conversation in conversations]


async def _bounded(
    what: str, concurrency: int, jobs: Sequence[Callable[[], Awaitable[None]]]
) -> None:
    """Runs ``jobs`` with at most ``concurrency`` at once, showing the progress."""
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def guarded(job: Callable[[], Awaitable[None]]) -> None:
        nonlocal done
        async with gate:
            await job()
        done += 1
        if done % PROGRESS_EVERY == 0 or done == len(jobs):
            print(f"  {what}: {done}/{len(jobs)}", flush=True)

    async with asyncio.TaskGroup() as group:
        for job in jobs:
            group.create_task(guarded(job))


async def measure(
    stack: Stack,
    messages: Sequence[LabelledMessage],
    conversations: Sequence[LabelledConversation],
    concurrency: int,
) -> list[Outcome]:
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        probe = Probe(stack, session)
        await probe.log_in()
        outcomes = await measure_messages(probe, messages, concurrency)
        outcomes += await measure_conversations(probe, conversations, concurrency)
    return outcomes


def measure_on_stack(
    model: Path,
    folder: Path,
    messages: Sequence[LabelledMessage],
    conversations: Sequence[LabelledConversation],
    concurrency: int,
    time_limit: float,
) -> list[Outcome]:
    with running_stack(model, folder, rest_channel=True) as stack:
        print(
            f"Measuring {len(messages)} messages and {len(conversations)} "
            "conversations…",
            flush=True,
        )
        try:
            return asyncio.run(
                asyncio.wait_for(
                    measure(stack, messages, conversations, concurrency), time_limit
                )
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            raise BenchError(f"{error!r}\n{stack.log_tail()}") from error
        except BenchError as error:
            raise BenchError(f"{error}\n{stack.log_tail()}") from error
        finally:
            STACK_LOG.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stack.log_path, STACK_LOG)


def run_facts(model: Path, seconds: float) -> RunFacts:
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
    try:
        relative = model.resolve().relative_to(ROOT)
    except ValueError:
        relative = model
    return RunFacts(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine_description(),
        model=f"`{relative}` (sha256 {digest}…)",
        tree=tree_description(),
        seconds=seconds,
    )


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        lscpu = subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in lscpu.splitlines()
            if line.startswith("Model name:")
        )
    except (OSError, subprocess.SubprocessError, StopIteration):
        pass
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return f"{cpu}, {os.cpu_count()} cores, {memory_kib / 2**20:.0f} GiB"


def tree_description() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = " with uncommitted changes" if git("status", "--porcelain") else ""
    return f"tree at commit {commit}{changed}"


def write_results(outcomes: Sequence[Outcome], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for outcome in outcomes:
        row = dataclasses.asdict(outcome)
        row["label"]["accept"] = sorted(outcome.label.accept)
        rows.append(row)
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", "utf-8")


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL,
        help="trained Rasa model to measure (default: models/tandem.tar.gz)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=3,
        choices=range(1, 9),
        metavar="1-8",
        help="customers talking to the bot at once (default: 3)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="measure only the first N messages and N conversations, for a quick "
        "check; docs/benchmarks.md is then left alone",
    )
    parser.add_argument(
        "--time-limit",
        type=int,
        default=RUN_TIME_LIMIT_SECONDS,
        metavar="SECONDS",
        help="give up after this long (default: %(default)s)",
    )
    parser.add_argument(
        "--no-docs",
        action="store_true",
        help="print the report without writing docs/benchmarks.md",
    )
    arguments = parser.parse_args(argv)
    if arguments.limit is not None and arguments.limit < 1:
        parser.error("--limit must be at least 1")
    if arguments.time_limit < 1:
        parser.error("--time-limit must be at least 1 second")
    if not arguments.model.is_file():
        parser.error(f"no trained model at {arguments.model}: run 'make train'")
    return arguments


def stop_on_sigterm(signum: int, frame: object) -> None:
    # Unwinds like Ctrl-C, so the stack's processes are stopped on the way out.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        messages, conversations = load_messages(), load_conversations()
    except LabelledSetError as error:
        print(f"The labelled set is malformed: {error}", file=sys.stderr)
        return 2
    if arguments.limit is not None:
        messages = messages[: arguments.limit]
        conversations = conversations[: arguments.limit]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tandem-bench-escalation-") as folder:
        try:
            outcomes = measure_on_stack(
                arguments.model,
                Path(folder),
                messages,
                conversations,
                arguments.concurrency,
                arguments.time_limit,
            )
        except RuntimeError as error:
            print(f"The benchmark failed: {error}", file=sys.stderr)
            return 1
    report = render_report(
        outcomes, run_facts(arguments.model, time.monotonic() - started)
    )
    write_results(outcomes, RESULTS)
    print(f"\n{SECTION_HEADING}\n\n{report}")
    if arguments.limit is None and not arguments.no_docs:
        DOCS.write_text(
            replace_section(DOCS.read_text("utf-8"), SECTION_HEADING, report), "utf-8"
        )
        print(f"Wrote the section to {DOCS.relative_to(ROOT)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
