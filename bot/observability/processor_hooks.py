"""Times and counts taken around Rasa's ``MessageProcessor``, and the
conversation each log line belongs to.

Rasa 3.6 offers no hook around a whole parse or a whole action: an NLU component
at the end of the pipeline sees neither the time before it nor the graph's own
overhead, and a policy sees no action run. So ``install`` wraps four methods of
the processor class once, at start, from the server entry point, each calling
the original unchanged:

- ``handle_message``: a customer message in (by channel); the conversation is
  named in the logs for the whole turn, the action server calls included;
- ``parse_message``: the NLU's time, its intent, the NLU fallback;
- ``_run_action``: each action's time (custom actions' calls to the action
  server included), the core fallback, actions that raised;
- ``execute_side_effects``: messages sent to customers, by source (what the
  bot says, agents' replies and notices the handoff service appends).

``uninstall`` puts the originals back (tests).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rasa.core.actions.action import ActionExecutionRejection
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered

from bot.observability.logs import conversation
from bot.observability.rasa_metrics import (
    CORE_FALLBACK_ACTIONS,
    KNOWN_CHANNELS,
    NLU_FALLBACK_INTENT,
    OTHER,
    RasaMetrics,
    action_label,
    bounded,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
_HOOKED = ("handle_message", "parse_message", "_run_action", "execute_side_effects")
_originals: dict[str, Any] = {}


def install(metrics: RasaMetrics) -> None:
    """Wraps the processor's methods; a second call changes nothing."""
    if _originals:
        return
    for name in _HOOKED:
        _originals[name] = getattr(MessageProcessor, name)
    MessageProcessor.handle_message = _handle_message(
        _originals["handle_message"], metrics
    )
    MessageProcessor.parse_message = _parse_message(
        _originals["parse_message"], metrics
    )
    MessageProcessor._run_action = _run_action(_originals["_run_action"], metrics)
    MessageProcessor.execute_side_effects = _execute_side_effects(
        _originals["execute_side_effects"], metrics
    )


def uninstall() -> None:
    for name, original in _originals.items():
        setattr(MessageProcessor, name, original)
    _originals.clear()


def _handle_message(
    original: Callable[..., Awaitable[T]], metrics: RasaMetrics
) -> Callable[..., Awaitable[T]]:
    @functools.wraps(original)
    async def handle_message(self: MessageProcessor, message: Any) -> T:
        channel = message.input_channel
        metrics.messages_received.labels(
            channel if channel in KNOWN_CHANNELS else OTHER
        ).inc()
        with conversation(message.sender_id):
            started = time.perf_counter()
            try:
                return await original(self, message)
            finally:
                logger.info(
                    "message from %s handled in %.0f ms",
                    channel,
                    (time.perf_counter() - started) * 1000,
                )

    return handle_message


def _parse_message(
    original: Callable[..., Awaitable[dict[str, Any]]], metrics: RasaMetrics
) -> Callable[..., Awaitable[dict[str, Any]]]:
    @functools.wraps(original)
    async def parse_message(
        self: MessageProcessor, message: Any, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        started = time.perf_counter()
        parse_data = await original(self, message, *args, **kwargs)
        metrics.nlu_seconds.observe(time.perf_counter() - started)
        intent = (parse_data.get("intent") or {}).get("name")
        known = set(self.domain.intents) | {NLU_FALLBACK_INTENT}
        metrics.intents.labels(bounded(intent, known)).inc()
        if intent == NLU_FALLBACK_INTENT:
            metrics.fallbacks.labels("nlu").inc()
        return parse_data

    return parse_message


def _run_action(
    original: Callable[..., Awaitable[bool]], metrics: RasaMetrics
) -> Callable[..., Awaitable[bool]]:
    @functools.wraps(original)
    async def run_action(
        self: MessageProcessor, action: Any, *args: Any, **kwargs: Any
    ) -> bool:
        name = action.name()
        label = action_label(name, self.domain.action_names_or_texts)
        if name in CORE_FALLBACK_ACTIONS:
            metrics.fallbacks.labels("core").inc()
        started = time.perf_counter()
        try:
            return await original(
                self, _Watched(action, metrics, label), *args, **kwargs
            )
        finally:
            metrics.action_seconds.labels(label).observe(time.perf_counter() - started)

    return run_action


class _Watched:
    """The action as ``_run_action`` uses it, counting a run that raises.

    Rasa catches that exception inside ``_run_action``, logs it and goes on
    without the action's events, so only the run itself can see it.
    """

    def __init__(self, action: Any, metrics: RasaMetrics, label: str) -> None:
        self._action = action
        self._metrics = metrics
        self._label = label

    def __getattr__(self, name: str) -> Any:
        return getattr(self._action, name)

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._action.run(*args, **kwargs)
        except ActionExecutionRejection:
            # A form's slot rejected: part of the conversation, not a failure.
            raise
        except Exception:
            self._metrics.action_failures.labels(self._label).inc()
            raise


def _execute_side_effects(
    original: Callable[..., Awaitable[None]], metrics: RasaMetrics
) -> Callable[..., Awaitable[None]]:
    @functools.wraps(original)
    async def execute_side_effects(
        self: MessageProcessor, events: list[Any], *args: Any, **kwargs: Any
    ) -> None:
        await original(self, events, *args, **kwargs)
        for event in events:
            if isinstance(event, BotUttered):
                metrics.messages_sent.labels(_source(event)).inc()

    return execute_side_effects


def _source(event: BotUttered) -> str:
    metadata = event.metadata or {}
    if "tandem_message_id" in metadata:
        return "agent"
    if metadata.get("tandem_notice"):
        return "notice"
    return "bot"
