"""Canned responses: every agent reads them, supervisors keep them."""

from __future__ import annotations

from aiohttp import web

from handoff.api.presenters import canned_response_json
from handoff.api.validation import (
    parse_canned_filter,
    parse_canned_response,
    read_json_object,
)
from handoff.api.views.common import current_agent, current_supervisor, path_id
from handoff.app_keys import CANNED_RESPONSES


async def list_canned(request: web.Request) -> web.Response:
    await current_agent(request)
    language = parse_canned_filter(request.query)
    items = await request.app[CANNED_RESPONSES].list(language)
    return web.json_response(
        {"canned_responses": [canned_response_json(item) for item in items]}
    )


async def create_canned(request: web.Request) -> web.Response:
    await current_supervisor(request)
    fields = parse_canned_response(await read_json_object(request), partial=False)
    canned = await request.app[CANNED_RESPONSES].create(fields)
    return web.json_response(canned_response_json(canned), status=201)


async def update_canned(request: web.Request) -> web.Response:
    await current_supervisor(request)
    canned_id = path_id(request, "canned response")
    fields = parse_canned_response(await read_json_object(request), partial=True)
    canned = await request.app[CANNED_RESPONSES].update(canned_id, fields)
    return web.json_response(canned_response_json(canned))


async def delete_canned(request: web.Request) -> web.Response:
    await current_supervisor(request)
    await request.app[CANNED_RESPONSES].delete(path_id(request, "canned response"))
    return web.Response(status=204)
