"""The agents' WebSocket live feed."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from handoff.app_keys import AUTH, LIVE_FEED
from handoff.errors import Forbidden, Unauthorized
from handoff.realtime.live_feed import CLOSE_UNAUTHORIZED, Subscriber
from handoff.staff.permissions import is_supervisor

HEARTBEAT_SECONDS = 30.0


async def live_feed(request: web.Request) -> web.WebSocketResponse:
    _check_origin(request)
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS)
    await socket.prepare(request)
    # Browsers cannot read the HTTP status of a refused upgrade, so a bad token
    # is reported after the handshake with an application close code.
    try:
        sign_in = await request.app[AUTH].sign_in_for_token(
            request.query.get("token", "")
        )
    except Unauthorized:
        await socket.close(code=CLOSE_UNAUTHORIZED, message=b"unauthorized")
        return socket

    feed = request.app[LIVE_FEED]
    feed.add(
        socket,
        Subscriber(
            agent_id=sign_in.agent.id,
            is_supervisor=is_supervisor(sign_in.agent),
            token_sha256=sign_in.token_sha256,
            expires_at=sign_in.expires_at,
        ),
    )
    # From here on every change reaches this socket; what happened between the
    # handshake and now is what a client reloads when it sees this frame.
    await socket.send_json({"type": "feed.ready", "agent_id": sign_in.agent.id})
    try:
        # Consoles send nothing but pings, which aiohttp answers itself.
        async for _ in socket:
            pass
    finally:
        feed.discard(socket)
    return socket


def _check_origin(request: web.Request) -> None:
    # Another site's page must not open a socket with an agent's token.
    origin = request.headers.get("Origin")
    if origin is None:
        return
    try:
        authority = URL(origin).raw_authority
    except ValueError:
        authority = ""
    if _without_default_port(authority) != _without_default_port(request.host):
        raise Forbidden(f"origin {origin} may not open the live feed")


def _without_default_port(authority: str) -> str:
    # A TLS-terminating proxy makes the page's origin https while the request
    # reaching us is http, so the port is compared but the scheme is not.
    lowered = authority.lower()
    for default_port in (":80", ":443"):
        if lowered.endswith(default_port):
            return lowered.removesuffix(default_port)
    return lowered
