"""What happens when a messaging platform does not take a message.

An agent's reply reaches a messaging customer through Rasa's
``POST /conversations/{id}/tracker/events`` with ``output_channel=latest`` and
``execute_side_effects=true``: Rasa sends the ``bot`` event through the
conversation's channel, and when the channel raises, answers 500 with ``An
unexpected error occurred. Error: <the exception's text>`` and does not save the
event (rasa/server.py ``append_events``).
``DeliveryFailed``'s text therefore begins with a fixed marker,
``tandem-delivery-failed:<channel>:<reason>:``, which the handoff service looks for
in that answer to record why the message did not arrive.

Transient failures (the platform's 5xx, 429, timeouts) are retried here with
backoff before anything is raised, so a failure that reaches the service is worth
recording as it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

MARKER = "tandem-delivery-failed"
Reason = Literal[
    "platform_error", "window_closed", "blocked", "invalid_recipient", "timeout"
]
# A platform asking to wait longer than this is not waited for inside the request
# that carries an agent's reply (the service gives Rasa 10 seconds).
MAX_RETRY_AFTER_SECONDS = 2.0

T = TypeVar("T")


class DeliveryFailed(RasaException):
    """A message the platform did not take; ``permanent`` when trying again cannot
    help (a refused recipient, a bad key), transient otherwise."""

    def __init__(
        self,
        channel: str,
        reason: Reason,
        *,
        permanent: bool,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.channel = channel
        self.reason = reason
        self.permanent = permanent
        self.detail = detail
        self.retry_after = retry_after
        kind = "permanent" if permanent else "transient"
        super().__init__(f"{MARKER}:{channel}:{reason}:{kind}:{detail}")


async def send_with_retry(
    call: Callable[[], Awaitable[T]], *, attempts: int = 3, base_delay: float = 0.5
) -> T:
    """``call()``'s result, trying again after transient failures.

    ``call`` raises ``DeliveryFailed``: a permanent one is raised at once; a
    transient one is retried after ``base_delay`` doubling each time, or after the
    platform's ``retry_after`` when it gave one (up to two seconds: a longer wait is
    not retried). The last failure is raised when every attempt failed.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    attempt = 1
    while True:
        try:
            return await call()
        except DeliveryFailed as failure:
            if failure.permanent or attempt == attempts:
                raise
            delay = base_delay * 2 ** (attempt - 1)
            if failure.retry_after is not None:
                if failure.retry_after > MAX_RETRY_AFTER_SECONDS:
                    raise
                delay = max(delay, failure.retry_after)
            logger.info(
                "%s delivery failed (%s), attempt %d of %d; again in %.1fs",
                failure.channel,
                failure.reason,
                attempt,
                attempts,
                delay,
            )
            await asyncio.sleep(delay)
            attempt += 1
