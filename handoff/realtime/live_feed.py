"""The agents' live feed: JSON frames pushed to the consoles allowed to see them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from aiohttp import WSCloseCode, web

from handoff.storage.models import utcnow

logger = logging.getLogger(__name__)

# A console that cannot take a frame this quickly is dropped rather than
# allowed to hold up every other agent's feed.
SEND_TIMEOUT_SECONDS = 5.0
# Application close code for a socket whose sign-in ended (expired, revoked).
CLOSE_UNAUTHORIZED = 4401


@dataclass(frozen=True)
class Subscriber:
    agent_id: int
    is_supervisor: bool
    token_sha256: str
    expires_at: datetime


@dataclass(frozen=True)
class Audience:
    """Who may receive a frame. Supervisors receive every frame."""

    # None: every signed-in agent.
    agent_ids: frozenset[int] | None = None
    supervisors_only: bool = False

    def includes(self, subscriber: Subscriber) -> bool:
        if subscriber.is_supervisor:
            return True
        if self.supervisors_only:
            return False
        return self.agent_ids is None or subscriber.agent_id in self.agent_ids


EVERYONE = Audience()


@dataclass(frozen=True)
class EndedSignIns:
    """Sign-ins whose sockets must close: one token, or all of one agent's."""

    token_sha256: str | None = None
    agent_id: int | None = None

    def includes(self, subscriber: Subscriber) -> bool:
        return (
            subscriber.token_sha256 == self.token_sha256
            or subscriber.agent_id == self.agent_id
        )


class FeedRelay(Protocol):
    """Carries what one instance publishes to the other instances' feeds."""

    async def forward(self, frame: dict[str, Any], audience: Audience) -> None: ...

    async def forward_sign_out(self, ended: EndedSignIns) -> None: ...


def agents_and_supervisors(*agent_ids: int | None) -> Audience:
    return Audience(
        agent_ids=frozenset(agent_id for agent_id in agent_ids if agent_id is not None)
    )


@dataclass
class LiveFeed:
    _sockets: dict[web.WebSocketResponse, Subscriber] = field(default_factory=dict)
    # Set on PostgreSQL, where several service instances may share the database
    # (feed_relay.py).
    relay: FeedRelay | None = None
    # Told of sign-ins that ended on another instance (the verified-token cache).
    sign_out_listeners: list[Callable[[EndedSignIns], None]] = field(
        default_factory=list
    )

    def __len__(self) -> int:
        return len(self._sockets)

    def add(self, socket: web.WebSocketResponse, subscriber: Subscriber) -> None:
        self._sockets[socket] = subscriber

    def discard(self, socket: web.WebSocketResponse) -> None:
        self._sockets.pop(socket, None)

    async def publish(
        self, frame: dict[str, Any], audience: Audience = EVERYONE
    ) -> None:
        """Send a frame to the allowed sockets on every service instance."""
        await self.deliver(frame, audience)
        if self.relay is not None:
            await self.relay.forward(frame, audience)

    async def sign_out(self, ended: EndedSignIns) -> None:
        """Close, on every service instance, the sockets of sign-ins that ended."""
        await self.disconnect(ended.includes)
        if self.relay is not None:
            await self.relay.forward_sign_out(ended)

    async def signed_out_elsewhere(self, ended: EndedSignIns) -> None:
        """Sign-ins another instance ended: forgotten here, their sockets closed."""
        for listener in self.sign_out_listeners:
            listener(ended)
        await self.disconnect(ended.includes)

    async def deliver(
        self, frame: dict[str, Any], audience: Audience = EVERYONE
    ) -> None:
        """Send a frame to the allowed sockets connected to this instance."""
        if not self._sockets:
            return
        # A sign-in that ran out while its socket was open ends the socket too.
        now = utcnow()
        await self.disconnect(lambda subscriber: subscriber.expires_at <= now)
        payload = json.dumps(frame, ensure_ascii=False)
        sockets = [
            socket
            for socket, subscriber in self._sockets.items()
            if audience.includes(subscriber)
        ]
        results = await asyncio.gather(
            *(self._send(socket, payload) for socket in sockets),
            return_exceptions=True,
        )
        for socket, result in zip(sockets, results, strict=True):
            if isinstance(result, BaseException):
                logger.info("dropping a live feed socket: %r", result)
                self.discard(socket)
                await socket.close()

    async def disconnect(self, which: Callable[[Subscriber], bool]) -> None:
        """Close, as unauthorized, the sockets of the sign-ins that ended."""
        ended = [socket for socket, sub in self._sockets.items() if which(sub)]
        for socket in ended:
            self.discard(socket)
            await socket.close(code=CLOSE_UNAUTHORIZED, message=b"unauthorized")

    async def close_all(self) -> None:
        sockets = list(self._sockets)
        self._sockets.clear()
        for socket in sockets:
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    @staticmethod
    async def _send(socket: web.WebSocketResponse, payload: str) -> None:
        await asyncio.wait_for(socket.send_str(payload), SEND_TIMEOUT_SECONDS)
