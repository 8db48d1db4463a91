"""What the web chat's socket.io channel answers a customer's message with.

A message (``user_uttered``) is acknowledged through socket.io's own callback once
its turn is over: ``{"ok": true}`` when Rasa handled it and stored it, so it is in
the conversation and on its way to the handoff service; ``{"ok": false}`` when it
could not be handled (the conversations' database or the lock store unreachable, the
turn failing on the way). Then the customer is also told, in the language they
wrote in, that the assistant is having trouble, rather than hearing nothing. A page
that has no acknowledgement (its socket dropped) or a failed one sends the message
again.

So that sending again is safe, the page names each message with an id of its own
(``message_id``, kept as the user event's ``message_id``) and marks a message it
sends again (``resent: true``); Rasa handles a resent message only if its
conversation does not hold that id yet (bot/resent_messages.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.language_detection import ENGLISH, KOREAN, detect_language
from bot.message_speakers import speaker_fields

# Ids the page makes (a UUID, or any short token of these characters).
CLIENT_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
HANDLED: dict[str, Any] = {"ok": True}
NOT_HANDLED: dict[str, Any] = {"ok": False, "error": "unavailable"}
TROUBLE = {
    KOREAN: "죄송합니다. 지금 상담 시스템에 일시적인 문제가 있어 메시지를 처리하지 "
    "못했어요. 잠시 후 다시 보내 주세요.",
    ENGLISH: "Sorry, the assistant is having trouble right now and could not handle "
    "your message. Please send it again in a moment.",
}


def client_message_id(value: object) -> str | None:
    """The page's id for a message, if it sent a usable one."""
    if isinstance(value, str) and CLIENT_MESSAGE_ID.fullmatch(value):
        return value
    return None


def trouble_payload(customer_text: object) -> dict[str, Any]:
    """The ``bot_uttered`` payload that tells the customer their message was not
    handled: Korean unless the message was English."""
    text = customer_text if isinstance(customer_text, str) else ""
    language = ENGLISH if detect_language(text) == ENGLISH else KOREAN
    return {
        "text": TROUBLE[language],
        **speaker_fields({"tandem_notice": True}),
        "trouble": True,
    }


class InFlight:
    """The web chat's work under way on this server: customers' turns and agents'
    replies waiting for the page. Sanic closes every WebSocket as soon as it starts
    to stop, before any request in flight has finished; so when the server is told
    to stop (``before_server_stop``) the channel waits for this work first, and a
    turn under way is acknowledged, a reply confirmed, before the sockets close."""

    # Once the last piece of work is done, its acknowledgement is still to be
    # written to the socket.
    FLUSH_SECONDS = 0.3

    def __init__(self) -> None:
        self.count = 0
        self._idle: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            self._idle.set()
        return self._idle

    @contextmanager
    def track(self) -> Iterator[None]:
        self.count += 1
        self._event().clear()
        try:
            yield
        finally:
            self.count -= 1
            if self.count == 0:
                self._event().set()

    async def drained(self, timeout: float) -> bool:
        """Waits until no work is under way (at most ``timeout``); whether it got
        there."""
        try:
            await asyncio.wait_for(self._event().wait(), timeout)
        except asyncio.TimeoutError:
            return False
        await asyncio.sleep(self.FLUSH_SECONDS)
        return True
