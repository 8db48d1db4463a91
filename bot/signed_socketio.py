"""The web chat's socket.io channel, accepting only session ids the service issued.

Rasa's own channel continues whichever conversation the client names in
``session_request`` and ``user_uttered``, so a guessed or leaked id would be enough
to read and continue someone else's chat, verified account included. The handoff
service issues ids as ``<random>.<signature>`` (``POST /api/chat/sessions``); this
channel checks the signature with the same secret, ``TANDEM_CHAT_SESSION_SECRET``,
and answers anything else with ``session_refused`` instead of passing it on, so the
chat page asks for a fresh id.

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
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint
from socketio import AsyncServer

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

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        # Rasa registers its handlers on the server it has just made; each of the
        # two that take a session id is wrapped so it only ever sees issued ones.
        server: AsyncServer = self.sio
        handlers = server.handlers[self.namespace or "/"]
        for event in (SESSION_EVENT, self.user_message_evt):
            handlers[event] = self._only_issued(server, event, handlers[event])
        if self.redis_url:
            share_between_servers(server, self.redis_url, self.redis_channel)

            async def listen_from_the_start(_app: Any, _loop: Any) -> None:
                await start_listening(server)

            blueprint.listener("after_server_start")(listen_from_the_start)
        return blueprint

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
