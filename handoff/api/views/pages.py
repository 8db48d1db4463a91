"""The web pages and their configuration."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from handoff.api.client_address import client_address
from handoff.app_keys import CHAT_SESSIONS, SETTINGS

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(request.app.router["chat"].url_for())


async def chat(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "chat.html")


async def console(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "console.html")


async def public_config(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return web.json_response(
        {
            "rasa_socket_url": settings.rasa_socket_url,
            # The pages show every time in the business's zone, not the browser's.
            "time_zone": settings.time_zone,
        }
    )


async def new_chat_session(request: web.Request) -> web.Response:
    address = client_address(request, request.app[SETTINGS].trusted_proxies)
    session_id = await request.app[CHAT_SESSIONS].issue(address)
    return web.json_response({"session_id": session_id}, status=201)
