"""Checking whether an agent's reply sent through Kakao's Event API reached the
customer, and telling the handoff service when it did not.

Kakao takes an event as a task and knows only later whether the customer got it (a
customer who blocked the channel does not). ``TANDEM_KAKAO_TASK_CHECK_SECONDS``
(10 s; 0 turns this off) after a reply with a ``tandem_message_id`` went out, one
background check asks for the result of each of its tasks
(``KakaoEventApi.task_result``) and reads it (bot/channels/kakao_task_results.py).
A task not finished yet, or an answer of 429, 5xx or none at all, is asked again
up to ``FURTHER_TRIES`` times, waiting twice as long each time; then the check gives
up with a warning and the reply stays as it was. A task that failed is reported as
``blocked`` (bot/channels/delivery_reports.py), which is what a single customer's
failed task means; an answer that cannot be read, or another refusal (401, 404),
is logged and the reply left alone.

Checks are one asyncio task per reply, at most ``MAX_OUTSTANDING`` at once (more
are dropped, with a warning); each catches its own errors, so one failing check
touches no other and no send. ``close`` cancels the outstanding ones, when the
channel stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.channels.delivery import DeliveryFailed
from bot.channels.delivery_reports import DeliveryReports
from bot.channels.kakao_events import CHANNEL, KakaoEventApi
from bot.channels.kakao_task_results import Outcome, TaskResult, read_task_result

logger = logging.getLogger(__name__)

DEFAULT_FIRST_DELAY = 10.0
FURTHER_TRIES = 4
MAX_DELAY_SECONDS = 120.0
MAX_OUTSTANDING = 1000
# What a failed single-customer task means: the customer cannot receive the bot's
# messages (blocked the channel, or left KakaoTalk).
FAILURE_REASON = "blocked"


class KakaoTaskChecks:
    """The background checks of agents' replies sent through the Event API."""

    def __init__(
        self,
        events: KakaoEventApi,
        reports: DeliveryReports | None,
        *,
        first_delay: float = DEFAULT_FIRST_DELAY,
        further_tries: int = FURTHER_TRIES,
        max_outstanding: int = MAX_OUTSTANDING,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._events = events
        self._reports = reports
        self._first_delay = first_delay
        self._further_tries = further_tries
        self._max_outstanding = max_outstanding
        self._sleep = sleep
        self._checks: set[asyncio.Task[None]] = set()

    @property
    def outstanding(self) -> int:
        return len(self._checks)

    def schedule(self, message_id: int, user_id: str, task_ids: Sequence[str]) -> bool:
        """Starts the check of reply ``message_id``'s tasks, sent to ``user_id``;
        False when checking is off or too many checks are waiting already."""
        if self._first_delay <= 0 or not task_ids:
            return False
        if len(self._checks) >= self._max_outstanding:
            logger.warning(
                "Reply %s is not checked with Kakao: %d checks are waiting already",
                message_id,
                len(self._checks),
            )
            return False
        check = asyncio.create_task(self._check(message_id, user_id, list(task_ids)))
        self._checks.add(check)
        check.add_done_callback(self._checks.discard)
        return True

    async def close(self) -> None:
        """Cancels the checks still waiting and waits until they have stopped."""
        checks = list(self._checks)
        for check in checks:
            check.cancel()
        await asyncio.gather(*checks, return_exceptions=True)

    async def _check(self, message_id: int, user_id: str, task_ids: list[str]) -> None:
        try:
            await self._follow(message_id, user_id, task_ids)
        except Exception:
            logger.exception("The Kakao check of reply %s failed", message_id)

    async def _follow(self, message_id: int, user_id: str, task_ids: list[str]) -> None:
        waiting = task_ids
        delay = self._first_delay
        for _ in range(1 + self._further_tries):
            await self._sleep(delay)
            unfinished = []
            for task_id in waiting:
                result = await self._result(task_id, user_id)
                if result.outcome is Outcome.FAILED:
                    await self._report(message_id, result)
                    return
                if result.outcome is Outcome.PENDING:
                    unfinished.append(task_id)
                elif result.outcome is Outcome.UNREADABLE:
                    logger.warning(
                        "Kakao's result of task %s of reply %s was not understood,"
                        " the reply stays as it was: %s",
                        task_id,
                        message_id,
                        result.detail,
                    )
            if not unfinished:
                return
            waiting = unfinished
            delay = min(delay * 2, MAX_DELAY_SECONDS)
        logger.warning(
            "Kakao gave no final result of %d task(s) of reply %s after %d checks;"
            " the reply stays as it was",
            len(waiting),
            message_id,
            1 + self._further_tries,
        )

    async def _result(self, task_id: str, user_id: str) -> TaskResult:
        try:
            answer = await self._events.task_result(task_id)
            answer.raise_for_status()
        except DeliveryFailed as failure:
            if failure.permanent:
                return TaskResult(Outcome.UNREADABLE, failure.detail)
            logger.info("Kakao's result of task %s: %s", task_id, failure.detail)
            return TaskResult(Outcome.PENDING, failure.detail)
        return read_task_result(answer.body, task_id, user_id)

    async def _report(self, message_id: int, result: TaskResult) -> None:
        failure = DeliveryFailed(
            CHANNEL, FAILURE_REASON, permanent=True, detail=result.detail
        )
        if self._reports is None:
            logger.warning(
                "Reply %s not delivered (no service secret): %s", message_id, failure
            )
            return
        await self._reports.failed(message_id, failure)
