"""The web chat's socket.io channel, accepting only session ids the service issued.

Rasa's own channel continues whichever conversation the client names in
``session_request`` and ``user_uttered``, so a guessed or leaked id would be enough
to read and continue someone else's chat, verified account included. The handoff
service issues ids as ``<random>.<signature>`` (``POST /api/chat/sessions``); this
channel checks the signature with the same secret, ``TANDEM_CHAT_SESSION_SECRET``,
and answers anything else with ``session_refused`` instead of passing it on, so the
chat page asks for a fresh id.

Rasa's output channel sends a message's text and buttons but drops the rest of its
metadata, so an agent's reply or a notice from the service would look like any bot
message. This channel's output adds who says it (``sender``) and, when the message
says so, where the customer stands with people (``handoff``) to every
``bot_uttered`` payload (bot/message_speakers.py), for the replies of the
customer's own turn and for what the service sends into the conversation alike.

With several Rasa servers, a customer's socket is connected to one of them while the
handoff service's call that sends an agent's reply may reach another. With
``TANDEM_SOCKETIO_REDIS_URL`` set, the channel's server shares what it emits with the
others through Redis (``bot/socketio_redis.py``), on the channel
``TANDEM_SOCKETIO_REDIS_CHANNEL``, and the server that holds the customer's socket
delivers it.

credentials.yml names it by module path: ``bot.signed_socketio.SignedSocketIOInput``.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint
from socketio import AsyncServer

from bot.message_speakers import speaker_fields
from bot.socketio_redis import DEFAULT_CHANNEL, share_between_servers, start_listening

logger = logging.getLogger(__name__)

SECRET_VARIABLE = "TANDEM_CHAT_SESSION_SECRET"
REDIS_URL_VARIABLE = "TANDEM_SOCKETIO_REDIS_URL"
REDIS_CHANNEL_VARIABLE = "TANDEM_SOCKETIO_REDIS_CHANNEL"
REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://")
# Must match handoff/conversation/chat_sessions.py, which signs the ids.
SIGNING_PURPOSE = b"tandem chat session id\n"
REFUSAL_EVENT = "session_refused"
SESSION_EVENT = "session_request"

EventHandler = Callable[[str, Any], Awaitable[None]]


def session_signature(secret: str, nonce: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), SIGNING_PURPOSE + nonce.encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def _metadata(value: Any) -> dict[str, Any]:
    """A message's metadata as the page sent it: an object, or one as JSON text;
    anything else is left out rather than failing the message."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def refusal(secret: str, session_id: object) -> dict[str, str] | None:
    """Why ``session_id`` is refused, as the event's payload; None if it was issued."""
    if not isinstance(session_id, str) or not session_id:
        return {
            "reason": "session_missing",
            "message": "A chat session id issued by POST /api/chat/sessions is needed.",
        }
    nonce, _, signature = session_id.rpartition(".")
    if nonce and hmac.compare_digest(
        signature.encode(), session_signature(secret, nonce).encode()
    ):
        return None
    return {
        "reason": "session_not_issued",
        "message": "This chat session id was not issued by the service; "
        "ask POST /api/chat/sessions for a new one.",
    }


class LabelledSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, each message saying who it is from."""

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        fields = speaker_fields(kwargs)
        for message_part in text.strip().split("\n\n"):
            await self._send_message(recipient_id, {"text": message_part, **fields})

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        fields = speaker_fields(kwargs)
        parts = text.strip().split("\n\n") or [text]
        messages: list[dict[str, Any]] = [
            {"text": part, "quick_replies": [], **fields} for part in parts
        ]
        messages[-1]["quick_replies"] = [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]}
            for b in buttons
        ]
        for message in messages:
            await self._send_message(recipient_id, message)

    async def send_quick_replies(
        self,
        recipient_id: str,
        text: str,
        quick_replies: list[dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_image_url(
        self, recipient_id: str, image: str, **kwargs: Any
    ) -> None:
        await self._send_message(
            recipient_id,
            {
                "attachment": {"type": "image", "payload": {"src": image}},
                **speaker_fields(kwargs),
            },
        )

    async def send_attachment(
        self, recipient_id: str, attachment: dict[str, Any], **kwargs: Any
    ) -> None:
        await self._send_message(
            recipient_id, {"attachment": attachment, **speaker_fields(kwargs)}
        )

    async def send_elements(
        self, recipient_id: str, elements: Iterable[dict[str, Any]], **kwargs: Any
    ) -> None:
        fields = speaker_fields(kwargs)
        for element in elements:
            payload = {"template_type": "generic", "elements": element}
            await self._send_message(
                recipient_id,
                {"attachment": {"type": "template", "payload": payload}, **fields},
            )


class SignedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel, refusing session ids without a valid signature."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        secret = os.environ.get(SECRET_VARIABLE, "")
        if not secret:
            raise RasaException(
                f"{SECRET_VARIABLE} must be set: the web chat's session ids are "
                "checked with it"
            )
        if not self.session_persistence:
            raise RasaException(
                "the signed socket.io channel needs session_persistence: true, "
                "or conversations would be named by the connection instead"
            )
        self.session_secret = secret
        self.redis_url = os.environ.get(REDIS_URL_VARIABLE, "").strip()
        if self.redis_url and not self.redis_url.startswith(REDIS_URL_SCHEMES):
            raise RasaException(
                f"{REDIS_URL_VARIABLE} must be a redis://, rediss:// or unix:// URL"
            )
        self.redis_channel = (
            os.environ.get(REDIS_CHANNEL_VARIABLE, "").strip() or DEFAULT_CHANNEL
        )

    def get_output_channel(self) -> OutputChannel | None:
        """The output for what the service sends into a conversation."""
        if self.sio is None:
            return super().get_output_channel()
        return LabelledSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        # Rasa registers its handlers on the server it has just made; each of the
        # two that take a session id is wrapped so it only ever sees issued ones.
        # Rasa's message handler answers through its own output, which would drop
        # who speaks, so ours takes its place.
        server: AsyncServer = self.sio
        handlers = server.handlers[self.namespace or "/"]
        handlers[self.user_message_evt] = self._message_handler(server, on_new_message)
        for event in (SESSION_EVENT, self.user_message_evt):
            handlers[event] = self._only_issued(server, event, handlers[event])
        if self.redis_url:
            share_between_servers(server, self.redis_url, self.redis_channel)

            async def listen_from_the_start(_app: Any, _loop: Any) -> None:
                await start_listening(server)

            blueprint.listener("after_server_start")(listen_from_the_start)
        return blueprint

    def _message_handler(
        self,
        server: AsyncServer,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> EventHandler:
        async def handle_message(sid: str, data: dict[str, Any]) -> None:
            # As Rasa's own handler with session persistence, whose ids
            # _only_issued has checked already.
            await on_new_message(
                UserMessage(
                    data.get("message", ""),
                    LabelledSocketIOOutput(server, self.bot_message_evt),
                    data["session_id"],
                    input_channel=self.name(),
                    metadata=_metadata(data.get(self.metadata_key)),
                )
            )

        return handle_message

    def _only_issued(
        self, server: AsyncServer, event: str, handler: EventHandler
    ) -> EventHandler:
        async def checked(sid: str, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            refused = refusal(self.session_secret, session_id)
            if refused is None:
                await handler(sid, data)
                return
            logger.info("Refused %s of %s: %s", event, sid, refused["reason"])
            await server.emit(
                REFUSAL_EVENT, refused, room=sid, namespace=self.namespace
            )

        return checked
