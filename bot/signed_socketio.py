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

A message over the customer's rate (bot/message_rate.py) is refused in its
acknowledgement. With ``TANDEM_CHANNEL_REDIS_URL`` set the rate is kept in Redis for
every server, as a page that reconnects may reach another one.

Every customer message is acknowledged, and a message that could not be handled is
answered with an apology instead of silence (bot/web_chat_turns.py). An agent's reply
waits for the page to confirm it: one that no page confirms within
``AGENT_REPLY_ACK_SECONDS`` (the customer's socket gone, their page reconnecting)
fails as a transient ``DeliveryFailed``, so the service records it undelivered rather
than delivered to nobody, and sending it again is safe: the page shows each agent
reply once, by its ``message_id``.

credentials.yml names it by module path: ``bot.signed_socketio.SignedSocketIOInput``.
"""

from __future__ import annotations

import asyncio
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

from bot.channels.channel_memory import customer_rate
from bot.channels.delivery import DeliveryFailed
from bot.message_attachments import METADATA_KEY, attachment_fields
from bot.message_speakers import speaker_fields
from bot.resent_messages import RESENT_KEY
from bot.socketio_redis import DEFAULT_CHANNEL, share_between_servers, start_listening
from bot.web_chat_turns import (
    HANDLED,
    NOT_HANDLED,
    InFlight,
    client_message_id,
    trouble_payload,
)

logger = logging.getLogger(__name__)

SECRET_VARIABLE = "TANDEM_CHAT_SESSION_SECRET"
REDIS_URL_VARIABLE = "TANDEM_SOCKETIO_REDIS_URL"
REDIS_CHANNEL_VARIABLE = "TANDEM_SOCKETIO_REDIS_CHANNEL"
REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://")
# Must match handoff/conversation/chat_sessions.py, which signs the ids.
SIGNING_PURPOSE = b"tandem chat session id\n"
REFUSAL_EVENT = "session_refused"
# As the chat page's composer allows.
MAX_MESSAGE_CHARS = 2000
MAX_METADATA_BYTES = 8 * 1024
SESSION_EVENT = "session_request"
# How long an agent's reply waits for the customer's page to confirm it.
AGENT_REPLY_ACK_SECONDS = 5.0
# How long a stopping server waits for the turns and replies under way.
DRAIN_SECONDS = 10.0
CHANNEL = "web"

EventHandler = Callable[[str, Any], Awaitable[Any]]


def session_signature(secret: str, nonce: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), SIGNING_PURPOSE + nonce.encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def message_refusal(data: dict[str, Any], metadata_key: str) -> dict[str, str] | None:
    """Why a ``user_uttered`` payload is not a message for the bot; None if it is.
    The page never sends these; a script or a modified page may."""
    message = data.get("message", "")
    if not isinstance(message, str):
        return {
            "reason": "invalid_message",
            "message": "메시지는 글자여야 합니다 / The message must be text.",
        }
    if not message.strip():
        return {
            "reason": "empty_message",
            "message": "빈 메시지는 보낼 수 없습니다 / An empty message is not sent.",
        }
    if len(message) > MAX_MESSAGE_CHARS:
        return {
            "reason": "message_too_long",
            "message": f"메시지는 {MAX_MESSAGE_CHARS:,}자까지 보낼 수 있습니다 / "
            f"Messages are limited to {MAX_MESSAGE_CHARS:,} characters.",
        }
    metadata = data.get(metadata_key)
    if metadata is not None and len(json.dumps(metadata, default=str)) > (
        MAX_METADATA_BYTES
    ):
        return {
            "reason": "metadata_too_large",
            "message": "메시지에 붙은 정보가 너무 큽니다 / The message's metadata is "
            "too large.",
        }
    return None


def rate_refusal(wait_seconds: int) -> dict[str, Any]:
    return {
        "reason": "rate_limited",
        "retry_after": wait_seconds,
        "message": f"메시지가 너무 빠르게 들어오고 있어요. {wait_seconds}초 뒤에 "
        f"보낼게요 / You're sending messages too quickly; this one goes in "
        f"{wait_seconds} s.",
    }


def _metadata(value: Any) -> dict[str, Any]:
    """A message's metadata as the page sent it: an object, or one as JSON text;
    anything else is left out rather than failing the message, and so is a file
    description that is not one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, dict):
        return {}
    cleaned = {key: item for key, item in value.items() if key != METADATA_KEY}
    cleaned.update(attachment_fields(value))
    return cleaned


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


def _agent_message_id(metadata: dict[str, Any]) -> int | None:
    value = metadata.get("tandem_message_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class LabelledSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, each message saying who it is from; an agent's
    reply confirmed by the customer's page."""

    def __init__(
        self, sio: Any, bot_message_evt: str, in_flight: InFlight | None = None
    ) -> None:
        super().__init__(sio, bot_message_evt)
        self.in_flight = in_flight if in_flight is not None else InFlight()

    async def send_text_message(
        self, recipient_id: str, text: str, **kwargs: Any
    ) -> None:
        fields = speaker_fields(kwargs)
        message_id = _agent_message_id(kwargs)
        if message_id is not None:
            # One bubble, which the page confirms and shows once.
            message = {
                "text": text.strip(),
                **fields,
                **attachment_fields(kwargs),
                "message_id": message_id,
            }
            with self.in_flight.track():
                await self._send_confirmed(recipient_id, message)
            return
        parts = text.strip().split("\n\n")
        for number, message_part in enumerate(parts, start=1):
            last = attachment_fields(kwargs) if number == len(parts) else {}
            await self._send_message(
                recipient_id, {"text": message_part, **fields, **last}
            )

    async def _send_confirmed(self, recipient_id: str, message: dict[str, Any]) -> None:
        confirmed = asyncio.get_running_loop().create_future()

        def on_confirmed(*_: Any) -> None:
            if not confirmed.done():
                confirmed.set_result(True)

        await self.sio.emit(
            self.bot_message_evt, message, room=recipient_id, callback=on_confirmed
        )
        try:
            await asyncio.wait_for(confirmed, AGENT_REPLY_ACK_SECONDS)
        except asyncio.TimeoutError:
            raise DeliveryFailed(
                CHANNEL,
                "timeout",
                permanent=False,
                detail="no web chat page confirmed the message: the customer is "
                "not connected now",
            ) from None

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
        messages[-1].update(attachment_fields(kwargs))
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
        self.rate = customer_rate(os.environ)
        self.in_flight = InFlight()

    def get_output_channel(self) -> OutputChannel | None:
        """The output for what the service sends into a conversation."""
        if self.sio is None:
            return super().get_output_channel()
        return LabelledSocketIOOutput(self.sio, self.bot_message_evt, self.in_flight)

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

        async def finish_what_is_under_way(_app: Any, _loop: Any) -> None:
            if not await self.in_flight.drained(DRAIN_SECONDS):
                logger.warning(
                    "Stopping with %d web chat turns or replies still under way",
                    self.in_flight.count,
                )

        blueprint.listener("before_server_stop")(finish_what_is_under_way)
        return blueprint

    def _message_handler(
        self,
        server: AsyncServer,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> EventHandler:
        async def handle_message(sid: str, data: dict[str, Any]) -> dict[str, Any]:
            # As Rasa's own handler with session persistence, whose ids
            # _only_issued has checked already; the return value is the
            # acknowledgement. A payload that is no message, or one over the
            # customer's rate, is refused in it, and the bot never hears it.
            refused = message_refusal(data, self.metadata_key)
            if refused is None:
                verdict = await self.rate.check(data["session_id"])
                if not verdict.allowed:
                    refused = rate_refusal(verdict.wait_seconds)
            if refused is not None:
                logger.info("Refused a message of %s: %s", sid, refused["reason"])
                return {"ok": False, "error": refused["reason"], **refused}
            with self.in_flight.track():
                return await handle(sid, data)

        async def handle(sid: str, data: dict[str, Any]) -> dict[str, Any]:
            message_id = client_message_id(data.get("message_id"))
            metadata = _metadata(data.get(self.metadata_key))
            if message_id is not None and data.get("resent") is True:
                metadata[RESENT_KEY] = True
            try:
                await on_new_message(
                    UserMessage(
                        data.get("message", ""),
                        LabelledSocketIOOutput(
                            server, self.bot_message_evt, self.in_flight
                        ),
                        data["session_id"],
                        input_channel=self.name(),
                        metadata=metadata,
                        message_id=message_id,
                    )
                )
            except Exception as error:
                logger.warning(
                    "A web chat message could not be handled; the customer is told:"
                    " %s: %s",
                    type(error).__name__,
                    error,
                )
                # To this socket, which is on this server: through Redis it would
                # fail when Redis is what failed.
                await server.emit(
                    self.bot_message_evt,
                    trouble_payload(data.get("message")),
                    room=sid,
                    namespace=self.namespace,
                    ignore_queue=True,
                )
                return NOT_HANDLED
            return HANDLED

        return handle_message

    def _only_issued(
        self, server: AsyncServer, event: str, handler: EventHandler
    ) -> EventHandler:
        async def checked(sid: str, data: Any) -> Any:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            refused = refusal(self.session_secret, session_id)
            if refused is None:
                return await handler(sid, data)
            logger.info("Refused %s of %s: %s", event, sid, refused["reason"])
            await server.emit(
                REFUSAL_EVENT, refused, room=sid, namespace=self.namespace
            )
            return {"ok": False, "error": refused["reason"]}

        return checked
