"""Forwards Rasa's tracker events to the handoff service, without ever holding Rasa up.

Rasa calls ``publish`` synchronously for every tracker event. This broker only appends
the event to a bounded buffer on disk (``bot/event_buffer.py``) and wakes a background
task, which posts batches to ``POST /api/rasa/events`` in order and forgets each batch
once the service has acknowledged it. When the service is slow or down the task retries
with exponential backoff while the buffer keeps filling; a restarted Rasa sends what the
previous one left. When the buffer is full the oldest events are dropped and counted,
and the count goes with the next batch, so the service records the gap. The service
de-duplicates, so a batch that was delivered but not acknowledged can safely be sent
again.

Configured in ``endpoints.yml``::

    event_broker:
      type: bot.event_broker.HandoffEventBroker
      url: http://127.0.0.1:8080
      secret: ${TANDEM_SERVICE_SECRET}

The buffer is ``broker_events.db`` in ``TANDEM_VAR_DIR`` and holds at most
``TANDEM_BROKER_BUFFER_EVENTS`` events (10 000).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
from asyncio import AbstractEventLoop
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.event_buffer import Batch, DurableEventBuffer
from bot.observability.logs import conversation
from bot.observability.rasa_metrics import RasaMetrics, rasa_metrics

logger = logging.getLogger(__name__)

EVENTS_PATH = "/api/rasa/events"
BUFFER_FILE = "broker_events.db"
DEFAULT_BUFFER_EVENTS = 10_000
DEFAULT_EVENT_TYPES = ("user", "bot", "session_started", "pause", "resume", "restart")
# The service only needs what identifies a turn and what the NLU made of it; the
# rest of parse_data (tokens, full intent ranking) would only bloat every request.
PARSE_DATA_KEYS = ("intent", "entities", "language", "emotion")
EVENT_KEYS = (
    "event",
    "sender_id",
    "timestamp",
    "text",
    "metadata",
    "input_channel",
    "message_id",
)
RETRYABLE_STATUSES = frozenset({401, 403, 408, 425, 429})


class DeliveryFailed(Exception):
    """The service did not take the batch; it will be sent again."""


def slim_event(event: dict[str, Any]) -> dict[str, Any]:
    """Keeps only the fields the handoff service reads."""
    slim = {key: event[key] for key in EVENT_KEYS if key in event}
    parse_data = event.get("parse_data")
    if isinstance(parse_data, dict):
        slim["parse_data"] = {
            key: parse_data[key] for key in PARSE_DATA_KEYS if key in parse_data
        }
    return slim


class HandoffEventBroker(EventBroker):
    """Keeps events on disk and posts them to the handoff service in the background."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        buffer_path: str | Path,
        event_types: Iterable[str] = DEFAULT_EVENT_TYPES,
        buffer_size: int = DEFAULT_BUFFER_EVENTS,
        max_batch_bytes: int = 32 * 1024,
        request_timeout: float = 5.0,
        min_backoff: float = 0.2,
        max_backoff: float = 30.0,
        flush_timeout: float = 5.0,
        metrics: RasaMetrics | None = None,
    ) -> None:
        self._metrics = metrics if metrics is not None else rasa_metrics()
        self.service_url = url.rstrip("/")
        self._endpoint = self.service_url + EVENTS_PATH
        self._headers = {"Authorization": f"Bearer {secret}"}
        self._event_types = frozenset(event_types)
        self._buffer = DurableEventBuffer(Path(buffer_path), buffer_size)
        self._metrics.broker_backlog.set(len(self._buffer))
        self._max_batch_bytes = max_batch_bytes
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._flush_timeout = flush_timeout
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        if not self._buffer:
            self._idle.set()
        self._sender: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.dropped = 0
        # Events that could not even be written to the buffer.
        self.lost = 0
        self.delivered = 0

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig,
        event_loop: AbstractEventLoop | None = None,
    ) -> HandoffEventBroker:
        options = dict(broker_config.kwargs)
        secret = options.pop("secret", None)
        if not broker_config.url or not secret:
            raise ValueError(
                "The handoff event broker needs 'url' and 'secret' in endpoints.yml"
            )
        options.setdefault(
            "buffer_path", Path(os.environ.get("TANDEM_VAR_DIR", "var")) / BUFFER_FILE
        )
        options.setdefault(
            "buffer_size",
            int(os.environ.get("TANDEM_BROKER_BUFFER_EVENTS", DEFAULT_BUFFER_EVENTS)),
        )
        broker = cls(broker_config.url, str(secret), **options)
        # What a previous Rasa left is sent without waiting for a new event.
        broker._wake_sender()
        return broker

    @property
    def pending(self) -> int:
        """Events not yet acknowledged by the service."""
        return len(self._buffer)

    def publish(self, event: dict[str, Any]) -> None:
        if event.get("event") not in self._event_types:
            return
        try:
            dropped = self._buffer.append(slim_event(event))
        except (sqlite3.Error, TypeError, ValueError) as error:
            # A full disk or an event that is not JSON must not fail Rasa's turn.
            self.lost += 1
            self._metrics.broker_failures.labels("lost").inc()
            logger.error("Handoff event could not be buffered and is lost: %s", error)
            return
        self._metrics.broker_backlog.set(len(self._buffer))
        if dropped:
            self._metrics.broker_failures.labels("dropped").inc(dropped)
            before, self.dropped = self.dropped, self.dropped + dropped
            if before == 0 or before // 1000 != self.dropped // 1000:
                logger.warning(
                    "Handoff event buffer full: %d oldest events dropped so far",
                    self.dropped,
                )
        self._wake_sender()

    def is_ready(self) -> bool:
        return True

    async def flush(self, timeout: float | None = None) -> bool:
        """Waits until every buffered event is delivered; ``False`` on timeout."""
        self._wake_sender()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def close(self) -> None:
        if self.pending and not await self.flush(self._flush_timeout):
            logger.warning(
                "Closing with %d events for the handoff service kept on disk",
                self.pending,
            )
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._buffer.close()

    def _wake_sender(self) -> None:
        if not self._buffer:
            return
        self._idle.clear()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._deliver())
        self._wakeup.set()

    async def _deliver(self) -> None:
        # This task outlives the turn whose event started it: its log lines
        # belong to no conversation.
        with conversation(None):
            await self._deliver_forever()

    async def _deliver_forever(self) -> None:
        backoff = self._min_backoff
        while True:
            batch = self._buffer.next_batch(self._max_batch_bytes)
            if batch is None:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            try:
                taken = await self._post(batch)
            except (aiohttp.ClientError, asyncio.TimeoutError, DeliveryFailed) as error:
                self._metrics.broker_failures.labels("retry").inc()
                logger.warning(
                    "Handoff service did not take %d events (%s); retrying in %.1fs",
                    len(batch.events),
                    error,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            self._buffer.acknowledge(batch)
            self._metrics.broker_backlog.set(len(self._buffer))
            if taken:
                self.delivered += len(batch.events)
                self._metrics.broker_delivered.inc(len(batch.events))
            backoff = self._min_backoff

    async def _post(self, batch: Batch) -> bool:
        """Whether the service took the batch; False when it refused it for good."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body: dict[str, Any] = {"events": batch.events}
        if batch.dropped:
            body["dropped"] = batch.dropped
        async with self._session.post(
            self._endpoint, json=body, headers=self._headers
        ) as response:
            if response.status < 300:
                _log_dead_letters(await response.text())
                return True
            text = (await response.text())[:300]
            if response.status >= 500 or response.status in RETRYABLE_STATUSES:
                raise DeliveryFailed(f"HTTP {response.status}: {text}")
            # Any other 4xx means the service will never accept this batch: sending
            # it again would stall every event behind it.
            self._metrics.broker_failures.labels("rejected").inc(len(batch.events))
            logger.error(
                "Handoff service rejected %d events for good: HTTP %d %s",
                len(batch.events),
                response.status,
                text,
            )
            return False


def _log_dead_letters(answer: str) -> None:
    """Says when the service kept events of the batch aside, and why."""
    try:
        parsed = json.loads(answer)
    except ValueError:
        return
    dead_lettered = parsed.get("dead_lettered") if isinstance(parsed, dict) else None
    if isinstance(dead_lettered, list) and dead_lettered:
        logger.warning(
            "Handoff service kept %d events of a batch as dead letters: %s",
            len(dead_lettered),
            dead_lettered[:3],
        )
