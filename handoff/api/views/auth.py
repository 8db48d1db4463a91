"""Sign-in and sign-out."""

from __future__ import annotations

from aiohttp import web

from handoff.api.presenters import agent_json, timestamp
from handoff.api.validation import parse_login, read_json_object
from handoff.app_keys import AGENTS, AUTH
from handoff.staff.auth import bearer_token


async def login(request: web.Request) -> web.Response:
    credentials = parse_login(await read_json_object(request))
    issued = await request.app[AUTH].login(
        credentials.username, credentials.password, client_address(request)
    )
    return web.json_response(
        {
            "token": issued.token,
            "expires_at": timestamp(issued.expires_at),
            "agent": agent_json(issued.agent),
        }
    )


async def logout(request: web.Request) -> web.Response:
    await request.app[AGENTS].sign_out(bearer_token(request))
    return web.Response(status=204)


def client_address(request: web.Request) -> str:
    # The peer address: a reverse proxy in front must be trusted to set it
    # (aiohttp's forwarded-header handling), never the client's own headers.
    return (request.remote or "unknown")[:64]
