"""A customer message sent again is handled once.

The web chat sends a message again when it got no acknowledgement for it
(bot/web_chat_turns.py): its socket dropped with the Rasa server behind it, or the
turn failed. The first attempt may have been handled all the same, up to storing
the conversation, with only the acknowledgement lost. So a message marked as resent
(``tandem_resent`` in its metadata, with the page's own ``message_id``) is first
looked for in its conversation, under the conversation's lock, which the first
attempt held for its whole turn: if the conversation holds that id, the message is
not handled again. What the earlier turn stored is handed to the event broker again
instead, since a server killed between storing a turn and handing it over would
otherwise leave the handoff service without it; the service takes each event once.

``install`` wraps ``MessageProcessor.handle_message`` once, from the server's entry
point (bot/server.py); ``uninstall`` puts it back (tests).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

RESENT_KEY = "tandem_resent"
T = TypeVar("T")
_original: list[Any] = []


def is_resent(message: Any) -> bool:
    metadata = getattr(message, "metadata", None) or {}
    return metadata.get(RESENT_KEY) is True and bool(message.message_id)


def handled_at(tracker: DialogueStateTracker | None, message_id: str) -> int | None:
    """Where the conversation holds the user message with this id, if it does."""
    if tracker is None:
        return None
    for index, event in enumerate(tracker.events):
        if isinstance(event, UserUttered) and event.message_id == message_id:
            return index
    return None


def install() -> None:
    """Wraps the processor's ``handle_message``; a second call changes nothing."""
    if _original:
        return
    _original.append(MessageProcessor.handle_message)
    MessageProcessor.handle_message = _once(_original[0])


def uninstall() -> None:
    if _original:
        MessageProcessor.handle_message = _original.pop()


def _once(original: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T | None]]:
    @functools.wraps(original)
    async def handle_message(self: MessageProcessor, message: Any) -> T | None:
        if not is_resent(message):
            return await original(self, message)
        tracker = await self.tracker_store.retrieve(message.sender_id)
        index = handled_at(tracker, message.message_id)
        if index is None:
            return await original(self, message)
        logger.info("A resent message was handled before; it is not handled again")
        publish_again = getattr(self.tracker_store, "publish_again", None)
        if tracker is not None and publish_again is not None:
            publish_again(tracker, index)
        return None

    return handle_message
