"""A customer's stored data, exported or erased on request: supervisors only."""

from __future__ import annotations

from aiohttp import web

from handoff.api.views.common import current_supervisor
from handoff.app_keys import CUSTOMER_DATA
from handoff.errors import NotFound

MAX_SENDER_ID_LENGTH = 255


def _sender_id(request: web.Request) -> str:
    sender_id = request.match_info["sender_id"]
    if len(sender_id) > MAX_SENDER_ID_LENGTH:
        raise NotFound("nothing is stored about a sender id that long")
    return sender_id


async def export_data(request: web.Request) -> web.Response:
    await current_supervisor(request)
    data = await request.app[CUSTOMER_DATA].export(_sender_id(request))
    return web.json_response(data)


async def erase_data(request: web.Request) -> web.Response:
    await current_supervisor(request)
    erased = await request.app[CUSTOMER_DATA].erase(_sender_id(request))
    return web.json_response({"sender_id": request.match_info["sender_id"], **erased})
