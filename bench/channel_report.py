"""The "Messaging channels" section of docs/benchmarks.md, from the channel
benchmark's summary (bench/channel_latency.py)."""

from __future__ import annotations

import textwrap
from typing import Any

from bench.channel_stats import Spread, ratios

SECTION_HEADING = "## Messaging channels"
BASELINE = "web chat"
KAKAO = "KakaoTalk"
LIMIT_SECONDS = 5

HOW = """
`make bench-channels` (`bench/channel_latency.py`) starts the stack once as `make run`
does (`credentials.yml`: the signed web chat and KakaoTalk; Telegram and Twilio
because their settings are set), with each platform played by its stand-in
(`tests/standins/`) as a process of its own, and times every turn from the customer's
message leaving the platform to the bot's answer reaching it:

- web chat (the baseline): `user_uttered` emitted on a socket.io connection opened
  with a session id the handoff service issued, to each `bot_uttered`;
- Telegram: the update posted to `/webhooks/telegram/webhook` with the secret token,
  to the stand-in receiving each `sendMessage`;
- Twilio SMS and WhatsApp: the incoming-message webhook signed with
  `X-Twilio-Signature`, to the stand-in receiving each `Messages.create`;
- KakaoTalk: the skill request as Open Builder posts it, with a callback URL (the
  block's callback option), to the skill response; when that is `useCallback`, to
  the callback's arrival at the stand-in.

The stand-ins stamp what they receive with the machine's monotonic clock, which the
benchmark's own stamps share. Every conversation is the same three turns, in Korean
and English in turn: a greeting, a bill question with the demo customer's number
(the bot sends a one-time code and asks for it) and a roaming question (the FAQ
answer, then the code asked for again). "First out" is the first message of a turn
reaching the platform, "whole answer" the last (KakaoTalk's skill response holds the
whole turn, so the two are one unless a callback was needed). A customer writes
again {alone} s after the bot's last message one at a time, {loaded} s under load; on
the web chat, that silence is how a turn is known to be over. "Rasa's handling" is
what Rasa logs for each of those messages (`bot/observability/`: understanding it,
the dialogue with its action calls and replies, saving the tracker; Twilio's SMS and
WhatsApp together): the rest of a turn is the hop in and out, the channel's own work,
and waiting for Rasa's one event loop, which every conversation shares.
"""

READING = """
Why KakaoTalk trails the web chat: a skill response can leave only once Rasa has
handled the whole turn, the tracker saved, while the web chat, Telegram and Twilio
send each message as the bot produces it (their first message out is earlier than the
end of Rasa's handling); KakaoTalk also packs a turn's two messages into one response.
With {turns} turns per channel one at a time, a p99 is the slowest turn or nearly: one
slow moment of the machine decides it.
"""

UNDER_LOAD = """
### What limits KakaoTalk under load

Rasa handles every conversation on one event loop. The skill's reply budget
(`TANDEM_KAKAO_REPLY_SECONDS`) is counted from when the webhook's handler starts, which
is when the loop gets to the request, and the timer that ends it fires when the loop is
next free; the five seconds Kakao waits start earlier, when Open Builder sends. With
other work holding the machine's 1-minute load average at 11–12 (2026-12-03, the
KakaoTalk phase alone, 240 turns, each request stamped when sent and when its handler
started), from the skill request sent to its handler starting took 0.24 s at p50 and 1.5
s at p99, and from the handler starting to the answer ready 3.5 s at p50 and 4.9 s at
p99, a 4 s budget overrun by the late timer; 60 turns answered `useCallback`, and the
skill responses' p99 was 5.9 s: the five seconds missed. With the load at 2–6 the same
phase measured 2.3 s at p99 and needed no callback (a run with a 3 s budget, which no
turn reached). What holds the five seconds on a busier machine: fewer conversations per
Rasa process (`make run-cluster` runs two Rasa servers), or a shorter
`TANDEM_KAKAO_REPLY_SECONDS` (3 s leaves two seconds for the wait before the handler and
a late timer; a turn that needs longer then comes by callback). `--kakao-reply-seconds`
runs this benchmark with another budget.
"""


def _ms(value: float) -> str:
    return f"{value:,.0f}"


def _triple(values: tuple[float, float, float]) -> str:
    return " / ".join(_ms(value) for value in values) + " ms"


def _ratio(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}×" for value in values)


def _spread(figures: dict[str, Any]) -> Spread:
    return Spread(**figures)


def _handling(figures: dict[str, Any]) -> str:
    if figures["rasa_handling"] is None:
        return "–"
    handling = _spread(figures["rasa_handling"])
    return f"{_ms(handling.p50_ms)} / {_ms(handling.p99_ms)} ms"


def alone_table(phase: dict[str, Any]) -> str:
    baseline = _spread(phase[BASELINE]["first"])
    lines = [
        "| channel | turns | first out p50 / p90 / p99 | ÷ web chat (p50 / p90 / p99) "
        "| whole answer p50 / p99 | messages out per turn "
        "| Rasa's handling p50 / p99 |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for channel, figures in phase.items():
        first, whole = _spread(figures["first"]), _spread(figures["whole"])
        against = "–" if channel == BASELINE else _ratio(ratios(first, baseline))
        lines.append(
            f"| {channel} | {figures['turns']} | {_triple(first.quantiles())} "
            f"| {against} | {_ms(whole.p50_ms)} / {_ms(whole.p99_ms)} ms "
            f"| {figures['messages_per_turn']:.2f} | {_handling(figures)} |"
        )
    return "\n".join(lines)


def loaded_table(phase: dict[str, Any]) -> str:
    baseline = _spread(phase[BASELINE]["first"])
    lines = [
        "| channel | turns | first out (KakaoTalk: skill response) p50 / p90 / p99 "
        "| slowest | ÷ web chat (p50 / p90 / p99) "
        f"| within {LIMIT_SECONDS} s | whole answer p50 / p99 | `useCallback` "
        "| Rasa's handling p50 / p99 |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for channel, figures in phase.items():
        first, whole = _spread(figures["first"]), _spread(figures["whole"])
        against = "–" if channel == BASELINE else _ratio(ratios(first, baseline))
        callbacks = figures["used_callback"] if channel == KAKAO else "–"
        lines.append(
            f"| {channel} | {figures['turns']} | {_triple(first.quantiles())} "
            f"| {_ms(first.max_ms)} ms | {against} "
            f"| {100 * figures['within_limit']:.1f} % "
            f"| {_ms(whole.p50_ms)} / {_ms(whole.p99_ms)} ms | {callbacks} "
            f"| {_handling(figures)} |"
        )
    return "\n".join(lines)


def goal(kakao: dict[str, Any], concurrent: int) -> str:
    first = _spread(kakao["first"])
    held = first.p99_ms <= LIMIT_SECONDS * 1000
    return (
        f"**Goal** (the issue): KakaoTalk's skill response within {LIMIT_SECONDS} s "
        f"at p99 with {concurrent} concurrent conversations: p99 "
        f"{first.p99_ms / 1000:.2f} s, "
        f"{'held' if held else '**missed**'}; "
        f"{100 * kakao['within_limit']:.1f} % of {kakao['turns'] - kakao['failed']} "
        f"skill responses within {LIMIT_SECONDS} s (slowest "
        f"{first.max_ms / 1000:.2f} s); a callback was needed "
        f"{kakao['used_callback']} times."
    )


def budget(results: dict[str, Any]) -> str:
    seconds = results.get("kakao_reply_seconds")
    if seconds is None:
        return (
            "The channel's reply budget was its default (`TANDEM_KAKAO_REPLY_SECONDS` "
            "unset: 4 s)."
        )
    return f"The channel's reply budget was `TANDEM_KAKAO_REPLY_SECONDS={seconds:g}`."


def wrapped(markdown: str, width: int = 88) -> str:
    """The prose paragraphs of ``markdown`` filled to ``width``; tables, lists and
    headings as they are."""
    paragraphs = []
    for paragraph in markdown.strip().split("\n\n"):
        if paragraph.lstrip().startswith(("|", "-", "#")):
            paragraphs.append(paragraph)
        else:
            paragraphs.append(textwrap.fill(" ".join(paragraph.split()), width))
    return "\n\n".join(paragraphs) + "\n"


def render(results: dict[str, Any]) -> str:
    phases = results["phases"]
    loads = ", ".join(
        f"{value:.1f} after {phase}" for phase, value in results["load_averages"]
    )
    failures = (
        "; ".join(
            f"{where}: " + ", ".join(sorted(set(texts)))
            for where, texts in results["failures"].items()
        )
        or "none"
    )
    think = results["think_seconds"]
    how = HOW.format(alone=think["alone"], loaded=think["loaded"])
    return wrapped(f"""
{how.strip()}

Measured {results["date"]} on {results["machine"]}; model {results["model"]}; tree at
{results["tree"]}; the run took {results["seconds"]:.0f} s. The machine's cores are
shared with other work, and the benchmark's customers and the stand-ins run on them
too: 1-minute load average {results["load_before"]:.1f} before the run, {loads}.

{goal(phases["loaded"][KAKAO], results["concurrent"])} {budget(results)}

### One conversation at a time

{results["conversations"]} conversations per channel, the channels taking turns
conversation by conversation, after one conversation per channel and language to
warm up.

{alone_table(phases["alone"])}

### {results["concurrent"]} concurrent conversations

{results["concurrent"]} customers at once, each holding {results["per_worker"]}
conversations in a row, on the web chat and then on KakaoTalk, {results["rounds"]}
rounds (the order switched each round).

{loaded_table(phases["loaded"])}

Turns that failed: {failures}. Web chat messages that came after their turn was taken
to be over: {results["late_web_chat_messages"]}. Event API messages (what did not fit
in a skill response or its callback): {results["kakao_event_api_messages"]}.

{READING.format(turns=phases["alone"][BASELINE]["turns"]).strip()}

{UNDER_LOAD.strip()}
""")
