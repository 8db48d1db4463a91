"""One timed turn of a conversation on a channel, and the platform calls it caused.

Every time is a ``time.monotonic()`` reading: on Linux one clock for every process
of the machine, so the benchmark's own "sent" and the stand-ins' "received" can be
subtracted. A turn of Telegram or Twilio learns its calls out after the phase,
from the stand-in's record (``attach_calls``): the calls to its recipient that
arrived while its webhook was being answered, since those channels send the turn's
messages before answering the webhook.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

TELEGRAM_SENDS = frozenset({"sendMessage", "sendPhoto"})
# What bot/observability/processor_hooks.py logs for every customer message: Rasa's
# own handling inside the conversation's lock (understanding the message, the
# dialogue with its action calls and replies, saving the tracker).
HANDLED = re.compile(r"message from (\w+) handled in (\d+) ms")


@dataclass
class Turn:
    channel: str
    recipient: str
    """Whom the platform calls of this turn are addressed to."""
    text: str
    sent_at: float
    """When the customer's message left the platform (the webhook was posted)."""
    answered_at: float = 0.0
    """When the webhook's HTTP answer came back (Kakao: the skill response)."""
    out_at: list[float] = field(default_factory=list)
    """When each of the turn's messages reached the platform, in order."""
    used_callback: bool = False
    failure: str | None = None
    reply: str = ""
    """The first text the customer got, to check what the bot understood."""

    @property
    def first_ms(self) -> float | None:
        """From the customer's message to the first call out to the platform."""
        return (min(self.out_at) - self.sent_at) * 1000 if self.out_at else None

    @property
    def last_ms(self) -> float | None:
        """From the customer's message to the last call out: the whole answer."""
        return (max(self.out_at) - self.sent_at) * 1000 if self.out_at else None


def telegram_recipient(call: dict[str, Any]) -> str | None:
    payload = call.get("payload") or {}
    if call.get("method") not in TELEGRAM_SENDS or "chat_id" not in payload:
        return None
    return f"telegram:{payload['chat_id']}"


def twilio_recipient(call: dict[str, Any]) -> str | None:
    form = call.get("form") or {}
    if call.get("method") != "Messages.create" or not form.get("To"):
        return None
    return str(form["To"])


def attach_calls(
    turns: Iterable[Turn],
    calls: Sequence[dict[str, Any]],
    received_at: Sequence[float],
    recipient_of: Callable[[dict[str, Any]], str | None],
) -> None:
    """Gives each turn the arrival times of the calls to its recipient received
    between its webhook leaving and its answer coming back; a turn with none
    failed: the customer got nothing."""
    if len(calls) != len(received_at):
        raise ValueError("the stand-in's record has calls without arrival times")
    arrivals: dict[str, list[float]] = {}
    for call, at in zip(calls, received_at, strict=True):
        recipient = recipient_of(call)
        if recipient is not None:
            arrivals.setdefault(recipient, []).append(at)
    for turn in turns:
        if turn.failure is not None:
            continue
        turn.out_at = sorted(
            at
            for at in arrivals.get(turn.recipient, [])
            if turn.sent_at <= at <= turn.answered_at
        )
        if not turn.out_at:
            turn.failure = "no message reached the platform"


def rasa_handling_ms(log_text: str) -> dict[str, list[float]]:
    """Rasa's handling time of each message in ``log_text``, by its input channel
    (``socketio``, ``telegram``, ``twilio``, ``kakao``)."""
    handled: dict[str, list[float]] = {}
    for channel, milliseconds in HANDLED.findall(log_text):
        handled.setdefault(channel, []).append(float(milliseconds))
    return handled
