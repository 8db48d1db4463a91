"""Sign-in and sign-out."""

from __future__ import annotations

from aiohttp import web

from handoff.api.client_address import client_address
from handoff.api.presenters import agent_json, timestamp
from handoff.api.validation import parse_login, read_json_object
from handoff.app_keys import AGENTS, AUTH, SETTINGS
from handoff.staff.auth import bearer_token


async def login(request: web.Request) -> web.Response:
    credentials = parse_login(await read_json_object(request))
    issued = await request.app[AUTH].login(
        credentials.username,
        credentials.password,
        client_address(request, request.app[SETTINGS].trusted_proxies),
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
