"""Checking whether an agent's reply sent through Kakao's Event API reached the
customer, and telling the handoff service when it did not.

Kakao takes an event as a task and knows only later whether the customer got it (a
customer who blocked the channel does not). ``TANDEM_KAKAO_TASK_CHECK_SECONDS``
(10 s; 0 turns this off) after a reply with a ``tandem_message_id`` went out, a check
asks for the result of each of its tasks (``KakaoEventApi.task_result``) and reads it
(bot/channels/kakao_task_results.py). A task that failed is reported as ``blocked``
(bot/channels/delivery_reports.py), which is what a single customer's failed task
means; an answer that cannot be read, or another refusal (401, 404), is logged and
the reply left alone. A task not finished yet, an answer of 429, 5xx or none at all,
and a failed task whose report the service did not take are asked again up to
``FURTHER_TRIES`` times, waiting twice as long each time; then the check gives up
with a warning and the reply stays as it was.

The checks wait in a queue that outlives the process (bot/channels/kakao_check_queue.py:
``channel_state.db``, or the shared Redis with several Rasa servers), so a restart or
a server that stops loses none: every server runs one poller that takes the checks
that are due, ``BATCH`` at a time, every ``POLL_SECONDS``, and runs each round as an
asyncio task that catches its own errors, so one failing check touches no other and
no send. At most ``MAX_OUTSTANDING`` checks wait (more are dropped, with a warning).
``close`` stops the poller and the rounds in progress; their checks stay queued and
are taken up again after their lease.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.exceptions import RedisError  # type: ignore[import-untyped]

from bot.channels.delivery import DeliveryFailed
from bot.channels.delivery_reports import DeliveryReports
from bot.channels.kakao_check_queue import CheckQueue, MemoryCheckQueue, PendingCheck
from bot.channels.kakao_events import CHANNEL, KakaoEventApi
from bot.channels.kakao_task_results import Outcome, TaskResult, read_task_result

logger = logging.getLogger(__name__)

DEFAULT_FIRST_DELAY = 10.0
FURTHER_TRIES = 4
MAX_DELAY_SECONDS = 120.0
MAX_OUTSTANDING = 1000
POLL_SECONDS = 1.0
BATCH = 20
# What a failed single-customer task means: the customer cannot receive the bot's
# messages (blocked the channel, or left KakaoTalk).
FAILURE_REASON = "blocked"
# What a queue that cannot be reached raises.
QUEUE_ERRORS = (RedisError, OSError, sqlite3.Error)


class KakaoTaskChecks:
    """The checks of agents' replies sent through the Event API."""

    def __init__(
        self,
        events: KakaoEventApi,
        reports: DeliveryReports | None,
        queue: CheckQueue | None = None,
        *,
        first_delay: float = DEFAULT_FIRST_DELAY,
        further_tries: int = FURTHER_TRIES,
        max_outstanding: int = MAX_OUTSTANDING,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._events = events
        self._reports = reports
        self.queue: CheckQueue = queue or MemoryCheckQueue()
        self._first_delay = first_delay
        self._further_tries = further_tries
        self._max_outstanding = max_outstanding
        # A short check delay (tests, a staging set-up) is polled as often.
        self._poll_seconds = min(poll_seconds, first_delay) if first_delay > 0 else 0
        self._clock = clock
        self._sleep = sleep
        self._poller: asyncio.Task[None] | None = None
        self._rounds: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self._first_delay > 0

    @property
    def running(self) -> int:
        """The rounds of checks in progress on this server."""
        return len(self._rounds)

    async def outstanding(self) -> int:
        """The checks waiting in the queue (every server's, when it is shared)."""
        return await self.queue.size()

    def start(self) -> None:
        """Starts taking due checks, those an earlier run left among them."""
        if self.enabled and (self._poller is None or self._poller.done()):
            self._poller = asyncio.create_task(self._poll())

    async def schedule(
        self, message_id: int, user_id: str, task_ids: Sequence[str]
    ) -> bool:
        """Queues the check of reply ``message_id``'s tasks, sent to ``user_id``;
        False when checking is off, too many checks are waiting already or the
        queue cannot be reached."""
        if not self.enabled or not task_ids:
            return False
        check = PendingCheck(
            message_id, user_id, tuple(task_ids), delay=self._first_delay
        )
        try:
            waiting = await self.queue.size()
            if waiting >= self._max_outstanding:
                logger.warning(
                    "Reply %s is not checked with Kakao: %d checks are waiting already",
                    message_id,
                    waiting,
                )
                return False
            await self.queue.put(check, self._clock() + self._first_delay)
        except QUEUE_ERRORS as error:
            logger.warning("Reply %s is not checked with Kakao: %s", message_id, error)
            return False
        self.start()
        return True

    async def close(self) -> None:
        """Stops the poller and the rounds in progress and waits until they have
        stopped; what they had not finished stays queued."""
        tasks = [*self._rounds, *([self._poller] if self._poller else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._poller = None

    async def run_due(self) -> int:
        """Takes the checks due now and runs a round of each; how many it took."""
        room = BATCH - len(self._rounds)
        if room <= 0:
            return 0
        due = await self.queue.take_due(self._clock(), room)
        for check in due:
            task = asyncio.create_task(self._round(check))
            self._rounds.add(task)
            task.add_done_callback(self._rounds.discard)
        return len(due)

    async def _poll(self) -> None:
        while True:
            try:
                await self.run_due()
            except QUEUE_ERRORS as error:
                logger.warning("Kakao task checks not taken: %s", error)
            await self._sleep(self._poll_seconds)

    async def _round(self, check: PendingCheck) -> None:
        try:
            await self._ask(check)
        except asyncio.CancelledError:
            raise
        except QUEUE_ERRORS as error:
            logger.warning(
                "The Kakao check of reply %s stays queued: %s", check.message_id, error
            )
        except Exception:
            logger.exception("The Kakao check of reply %s failed", check.message_id)
            await self._forget(check)

    async def _ask(self, check: PendingCheck) -> None:
        unfinished = []
        for task_id in check.task_ids:
            result = await self._result(task_id, check.user_id)
            if result.outcome is Outcome.FAILED:
                if await self._report(check.message_id, result):
                    await self.queue.remove(check)
                    return
                # The service did not take the report: ask and report again later.
                unfinished = [task_id]
                break
            if result.outcome is Outcome.PENDING:
                unfinished.append(task_id)
            elif result.outcome is Outcome.UNREADABLE:
                logger.warning(
                    "Kakao's result of task %s of reply %s was not understood,"
                    " the reply stays as it was: %s",
                    task_id,
                    check.message_id,
                    result.detail,
                )
        if not unfinished:
            await self.queue.remove(check)
            return
        if check.rounds_done >= self._further_tries:
            logger.warning(
                "Kakao gave no final result of %d task(s) of reply %s after %d checks;"
                " the reply stays as it was",
                len(unfinished),
                check.message_id,
                check.rounds_done + 1,
            )
            await self.queue.remove(check)
            return
        delay = min(check.delay * 2, MAX_DELAY_SECONDS)
        await self.queue.advance(
            check,
            check.next_round(tuple(unfinished), delay),
            self._clock() + delay,
        )

    async def _forget(self, check: PendingCheck) -> None:
        try:
            await self.queue.remove(check)
        except QUEUE_ERRORS as error:
            logger.warning("A broken Kakao check stays queued: %s", error)

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

    async def _report(self, message_id: int, result: TaskResult) -> bool:
        """False when the service did not take the report."""
        failure = DeliveryFailed(
            CHANNEL, FAILURE_REASON, permanent=True, detail=result.detail
        )
        if self._reports is None:
            logger.warning(
                "Reply %s not delivered (no service secret): %s", message_id, failure
            )
            return True
        return await self._reports.failed(message_id, failure)
