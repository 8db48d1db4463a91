"""Failed deliveries to a messaging platform, and retrying the transient ones.

A channel's send either reaches the platform, or ends in ``DeliveryFailed``. When the
handoff service pushes an agent's reply (``POST /conversations/{id}/tracker/events``
with ``execute_side_effects``), Rasa answers 500 with the exception's text and does not
save the tracker (rasa/server.py, ``append_events``), so the text begins with a marker
the service recognises: ``tandem-delivery-failed:<channel>:<reason>:<permanence>:``.

The bot's own replies are different: Rasa's processor sends them in the middle of the
customer's turn, and an exception there would drop the whole turn, the customer's
message with it. Their failures are logged instead (``report_failures``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

MARKER = "tandem-delivery-failed"
REASONS = frozenset(
    {"platform_error", "window_closed", "blocked", "invalid_recipient", "timeout"}
)
# A platform asking to wait longer than this is not waited for: the service's call
# to Rasa, and the agent behind it, are waiting too.
MAX_RETRY_AFTER_SECONDS = 5.0
# Metadata of a bot event that the handoff service pushed (rasa_client.py).
AGENT_KEY = "agent"
PUSH_KEYS = ("tandem_message_id", "tandem_notice")

T = TypeVar("T")


class DeliveryFailed(RasaException):
    """A message did not reach the customer's platform."""

    def __init__(
        self,
        channel: str,
        reason: str,
        *,
        permanent: bool,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown delivery failure reason {reason!r}")
        self.channel = channel
        self.reason = reason
        self.permanent = permanent
        self.detail = detail
        # A transient failure may carry how long the platform asked to wait.
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        permanence = "permanent" if self.permanent else "transient"
        return f"{MARKER}:{self.channel}:{self.reason}:{permanence}: {self.detail}"


class TransientFailure(Exception):
    """A platform's answer worth trying again: 5xx, 429, a timeout, a dropped line."""

    def __init__(
        self,
        channel: str,
        reason: str,
        detail: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.channel = channel
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after

    def given_up(self, detail: str | None = None) -> DeliveryFailed:
        return DeliveryFailed(
            self.channel, self.reason, permanent=False, detail=detail or self.detail
        )


@dataclass(frozen=True)
class Retries:
    """How a channel retries: ``send_with_retry``'s settings."""

    attempts: int = 3
    base_delay: float = 0.5
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep


class PlatformSession:
    """One aiohttp session per channel, made on first use inside the server's
    running loop (a channel is built before the loop runs)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def send_with_retry(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 3,
    base_delay: float = 0.5,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> T:
    """``call()``'s result, trying again after a ``TransientFailure`` or a
    transient ``DeliveryFailed``.

    Waits the platform's Retry-After when it gives one (up to
    ``MAX_RETRY_AFTER_SECONDS``), else doubles ``base_delay`` each time, with jitter.
    After the last attempt, or a longer Retry-After, the failure becomes a transient
    ``DeliveryFailed``; a permanent ``DeliveryFailed`` from ``call`` is raised at once.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            try:
                return await call()
            except DeliveryFailed as failed:
                if failed.permanent:
                    raise
                raise TransientFailure(
                    failed.channel, failed.reason, failed.detail, failed.retry_after
                ) from failed
        except TransientFailure as failure:
            if attempt == attempts:
                raise failure.given_up() from failure
            if failure.retry_after is not None:
                if failure.retry_after > MAX_RETRY_AFTER_SECONDS:
                    raise failure.given_up(
                        f"{failure.detail} (asked to wait {failure.retry_after:g} s)"
                    ) from failure
                delay = failure.retry_after
            else:
                delay = base_delay * 2 ** (attempt - 1) * random.uniform(0.75, 1.0)
            logger.info(
                "%s: %s; attempt %d of %d in %.2f s",
                failure.channel,
                failure.detail,
                attempt + 1,
                attempts,
                delay,
            )
            await sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def is_service_push(message: Mapping[str, Any]) -> bool:
    """True for a message the handoff service pushed: an agent's reply or a notice."""
    return any(message.get(key) for key in PUSH_KEYS)


def reply_id(message: Mapping[str, Any]) -> int | None:
    """The service's id of an agent's reply, whose fate a platform may tell later."""
    value = message.get("tandem_message_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def customer_text(message: Mapping[str, Any]) -> str:
    """The text to send; an agent's reply begins with the agent's name, since the
    platforms show every message as the bot's."""
    text = str(message.get("text") or "")
    agent = message.get(AGENT_KEY)
    if isinstance(agent, str) and agent.strip() and text:
        return f"{agent.strip()}: {text}"
    return text


async def report_failures(
    send: Callable[[], Awaitable[None]], message: Mapping[str, Any]
) -> None:
    """Runs one ``send_response``: a push from the service raises its
    ``DeliveryFailed`` (the service records it on the message), a failure of the
    bot's own reply is logged and the customer's turn goes on."""
    try:
        await send()
    except DeliveryFailed as failure:
        if is_service_push(message):
            raise
        logger.warning("The bot's reply was not delivered: %s", failure)
