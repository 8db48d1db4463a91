"""Messaging channels: the time from a customer's message reaching the bot's webhook
to the bot's answer reaching the platform, per channel, against the web chat in the
same run; then KakaoTalk's five-second answer with 20 concurrent conversations.
Writes the "Messaging channels" section of docs/benchmarks.md.

    .venv/handoff/bin/python -m bench.channel_latency [--conversations 16]
        [--rounds 2] [--no-write] [--summary results/channels/summary.json]

One stack (bench/channel_stack.py) with every channel on and each platform's
stand-in as a process. Phase one: one conversation at a time, the channels taking
turns conversation by conversation, so a busy moment of the machine does not fall
on one channel only. Phase two: 20 concurrent conversations on the web chat, then
on KakaoTalk, ``--rounds`` times. Every conversation is the same three turns (a
greeting, a bill question with the demo customer's number, a roaming question),
in Korean and English in turn. About six minutes on an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.channel_customers import (
    CHANNELS,
    KAKAO,
    RASA_CHANNEL,
    SMS,
    TELEGRAM,
    WEB_CHAT,
    WHATSAPP,
    CouldNotConnect,
    WebChatCustomer,
    new_customer,
)
from bench.channel_report import SECTION_HEADING, render
from bench.channel_stack import ChannelStack, running_channel_stack
from bench.channel_stats import share_within, spread
from bench.channel_turns import (
    Turn,
    attach_calls,
    rasa_handling_ms,
    telegram_recipient,
    twilio_recipient,
)
from bench.escalation_scoring import replace_section
from bench.queue import machine

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
RESULTS = ROOT / "results" / "channels" / "results.json"
SUMMARY = ROOT / "results" / "channels" / "summary.json"
STACK_LOG = ROOT / "results" / "channels" / "stack.log"
DEFAULT_MODEL = ROOT / "models" / "tandem.tar.gz"

SCRIPTS = (
    (
        "ko",
        (
            "안녕하세요",
            "010-1234-5678 이번 달 요금 얼마예요?",
            "해외 로밍 어떻게 해요?",
        ),
    ),
    (
        "en",
        (
            "hello",
            "how much is my bill? my number is 010-1234-5678",
            "how does roaming work?",
        ),
    ),
)
# A customer's pause after the bot's last message, before writing again; on the web
# chat, the silence that ends a turn. Longer under load, where the messages of one
# turn can be further apart.
ALONE_THINK_SECONDS = 0.5
CONCURRENT_THINK_SECONDS = 1.0
CONCURRENT = 20
CONVERSATIONS_PER_WORKER = 3
CONCURRENT_CHANNELS = (WEB_CHAT, KAKAO)
KAKAO_LIMIT_MS = 5000.0
# A stuck stack fails the run instead of hanging it.
RUN_TIME_LIMIT_SECONDS = 20 * 60
ALONE = "alone"
LOADED = "loaded"


async def conversation(
    target: ChannelStack,
    http: aiohttp.ClientSession,
    channel: str,
    script: int,
    think_seconds: float,
    late: list[int],
) -> list[Turn]:
    language, texts = SCRIPTS[script % len(SCRIPTS)]
    customer = new_customer(channel, target, http, think_seconds, language)
    try:
        await customer.start()
    except CouldNotConnect as error:
        await customer.close()
        return [
            Turn(channel, "", text, time.monotonic(), failure=str(error))
            for text in texts
        ]
    try:
        return [await customer.say(text) for text in texts]
    finally:
        await customer.close()
        if isinstance(customer, WebChatCustomer):
            late.append(customer.late)


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


async def one_at_a_time(
    target: ChannelStack,
    http: aiohttp.ClientSession,
    conversations: int,
    late: list[int],
) -> list[Turn]:
    turns: list[Turn] = []
    for number in range(conversations):
        shift = number % len(CHANNELS)
        for channel in CHANNELS[shift:] + CHANNELS[:shift]:
            turns += await conversation(
                target, http, channel, number, ALONE_THINK_SECONDS, late
            )
        if number % 4 == 3:
            log(f"one at a time: {number + 1} of {conversations} conversations each")
    return turns


async def concurrently(
    target: ChannelStack,
    http: aiohttp.ClientSession,
    channel: str,
    late: list[int],
) -> list[Turn]:
    async def worker(index: int) -> list[Turn]:
        turns: list[Turn] = []
        for number in range(CONVERSATIONS_PER_WORKER):
            turns += await conversation(
                target, http, channel, index + number, CONCURRENT_THINK_SECONDS, late
            )
        return turns

    results = await asyncio.gather(*(worker(index) for index in range(CONCURRENT)))
    return [turn for turns in results for turn in turns]


async def attach_platform_calls(
    target: ChannelStack, http: aiohttp.ClientSession, turns: Sequence[Turn]
) -> None:
    """The Telegram and Twilio turns get their calls out from the stand-ins."""
    platforms = target.platforms
    for url, recipient_of, channels in (
        (platforms.telegram_url, telegram_recipient, {TELEGRAM}),
        (platforms.twilio_url, twilio_recipient, {SMS, WHATSAPP}),
    ):
        async with http.get(f"{url}/_recorded") as answer:
            recorded = await answer.json()
        attach_calls(
            [turn for turn in turns if turn.channel in channels],
            recorded["calls"],
            recorded["received_at"],
            recipient_of,
        )


async def kakao_events(target: ChannelStack, http: aiohttp.ClientSession) -> int:
    """Event API messages: what did not fit in a skill response or its callback."""
    async with http.get(f"{target.kakao.url}/_recorded") as answer:
        return len((await answer.json())["events"])


class PhaseLog:
    """The stack's log written during one phase, for Rasa's own handling times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = path.stat().st_size

    def handling_ms(self) -> dict[str, list[float]]:
        with self.path.open("rb") as log_file:
            log_file.seek(self.start)
            return rasa_handling_ms(log_file.read().decode("utf-8", "replace"))


def add_handling(into: dict[str, list[float]], phase: PhaseLog) -> None:
    for channel, values in phase.handling_ms().items():
        into.setdefault(channel, []).extend(values)


async def measure(
    target: ChannelStack, conversations: int, rounds: int
) -> dict[str, Any]:
    late: list[int] = []
    loads: list[tuple[str, float]] = []
    handling: dict[str, dict[str, list[float]]] = {ALONE: {}, LOADED: {}}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        log("warming up: one conversation per channel and language")
        for channel in CHANNELS:
            for script in range(len(SCRIPTS)):
                await conversation(
                    target, http, channel, script, ALONE_THINK_SECONDS, []
                )
        log(f"one at a time: {conversations} conversations per channel")
        phase = PhaseLog(target.stack.log_path)
        alone = await one_at_a_time(target, http, conversations, late)
        add_handling(handling[ALONE], phase)
        loads.append(("one at a time", os.getloadavg()[0]))
        loaded: list[Turn] = []
        for round_number in range(rounds):
            order = (
                CONCURRENT_CHANNELS[round_number % 2 :]
                + CONCURRENT_CHANNELS[: round_number % 2]
            )
            for channel in order:
                log(f"round {round_number + 1}: {CONCURRENT} concurrent on {channel}")
                phase = PhaseLog(target.stack.log_path)
                loaded += await concurrently(target, http, channel, late)
                add_handling(handling[LOADED], phase)
                loads.append(
                    (f"{channel}, round {round_number + 1}", os.getloadavg()[0])
                )
        await attach_platform_calls(target, http, alone)
        events = await kakao_events(target, http)
    return {
        ALONE: [asdict(turn) for turn in alone],
        LOADED: [asdict(turn) for turn in loaded],
        "rasa_handling_ms": handling,
        "load_averages": loads,
        "late_web_chat_messages": sum(late),
        "kakao_event_api_messages": events,
    }


def summary(raw: dict[str, Any]) -> dict[str, Any]:
    """The figures of the report, from the turns of both phases."""
    phases: dict[str, Any] = {}
    failures: dict[str, list[str]] = {}
    for phase in (ALONE, LOADED):
        turns = [Turn(**turn) for turn in raw[phase]]
        channels = [
            channel for channel in CHANNELS if any(t.channel == channel for t in turns)
        ]
        phases[phase] = {}
        for channel in channels:
            mine = [turn for turn in turns if turn.channel == channel]
            done = [turn for turn in mine if turn.failure is None]
            for turn in mine:
                if turn.failure is not None:
                    failures.setdefault(f"{phase}: {channel}", []).append(
                        f"{turn.text}: {turn.failure}"
                    )
            first = [turn.first_ms for turn in done if turn.first_ms is not None]
            last = [turn.last_ms for turn in done if turn.last_ms is not None]
            rasa = raw["rasa_handling_ms"][phase].get(RASA_CHANNEL[channel], [])
            phases[phase][channel] = {
                "rasa_handling": asdict(spread(rasa)) if rasa else None,
                "turns": len(mine),
                "failed": len(mine) - len(done),
                "messages_per_turn": (
                    sum(len(turn.out_at) for turn in done) / len(done) if done else 0
                ),
                "first": asdict(spread(first)),
                "whole": asdict(spread(last)),
                "used_callback": sum(turn.used_callback for turn in done),
                "within_limit": share_within(first, KAKAO_LIMIT_MS),
            }
    return {
        "phases": phases,
        "failures": failures,
        "load_averages": raw["load_averages"],
        "late_web_chat_messages": raw["late_web_chat_messages"],
        "kakao_event_api_messages": raw["kakao_event_api_messages"],
    }


def tree_description() -> str:
    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def run(
    model: Path, conversations: int, rounds: int, kakao_reply_seconds: float | None
) -> dict[str, Any]:
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tandem-bench-channels-") as name:
        folder = Path(name)
        log("starting the stack with every channel on, and the stand-ins")
        try:
            with running_channel_stack(model, folder, kakao_reply_seconds) as target:
                raw = asyncio.run(
                    asyncio.wait_for(
                        measure(target, conversations, rounds),
                        RUN_TIME_LIMIT_SECONDS,
                    )
                )
        finally:
            log_path = folder / "stack.log"
            if log_path.exists():
                STACK_LOG.parent.mkdir(parents=True, exist_ok=True)
                STACK_LOG.write_bytes(log_path.read_bytes())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(raw, ensure_ascii=False, indent=1), "utf-8")
    # Not resolved: models/ may be a link to another checkout's.
    try:
        relative = model.absolute().relative_to(ROOT)
    except ValueError:
        relative = model
    return {
        **summary(raw),
        "load_before": load_before,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "model": f"`{relative}`",
        "tree": tree_description(),
        "seconds": time.monotonic() - started,
        "conversations": conversations,
        "rounds": rounds,
        "kakao_reply_seconds": kakao_reply_seconds,
        "concurrent": CONCURRENT,
        "per_worker": CONVERSATIONS_PER_WORKER,
        "think_seconds": {ALONE: ALONE_THINK_SECONDS, LOADED: CONCURRENT_THINK_SECONDS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument(
        "--conversations",
        type=int,
        default=16,
        help="conversations per channel, one at a time",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of the concurrent phase"
    )
    parser.add_argument(
        "--kakao-reply-seconds",
        type=float,
        help="TANDEM_KAKAO_REPLY_SECONDS for the run (default: the channel's own); "
        "the channel refuses to start with a value it does not take",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print, don't write docs"
    )
    parser.add_argument(
        "--summary",
        type=Path,
        help=f"report the summary of an earlier run (it is kept in {SUMMARY})",
    )
    arguments = parser.parse_args()
    if arguments.conversations < 1 or arguments.rounds < 1:
        parser.error("--conversations and --rounds must be at least 1")
    if arguments.kakao_reply_seconds is not None and arguments.kakao_reply_seconds <= 0:
        parser.error("--kakao-reply-seconds must be above 0")
    # Stopped from outside, the stack must still be stopped on the way out.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if arguments.summary is not None:
        results = json.loads(arguments.summary.read_text("utf-8"))
    else:
        results = run(
            arguments.model,
            arguments.conversations,
            arguments.rounds,
            arguments.kakao_reply_seconds,
        )
        SUMMARY.write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
        print(json.dumps(results, ensure_ascii=False, indent=1))
    body = render(results)
    if arguments.no_write:
        print(body)
        return
    DOCS.write_text(
        replace_section(DOCS.read_text("utf-8"), SECTION_HEADING, body), "utf-8"
    )
    log(f"wrote '{SECTION_HEADING}' in {DOCS}")


if __name__ == "__main__":
    main()
