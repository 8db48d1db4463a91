"""The bot posts a customer's rating, then its optional comment (shared secret)."""

from __future__ import annotations

from aiohttp import web

from handoff.api.log_context import about_conversation
from handoff.api.presenters import rating_json
from handoff.api.validation import (
    parse_comment_request,
    parse_csat_request,
    read_json_object,
)
from handoff.api.views.common import path_id, require_bot
from handoff.app_keys import RATINGS


async def post_rating(request: web.Request) -> web.Response:
    require_bot(request)
    csat_request = parse_csat_request(await read_json_object(request))
    about_conversation(request, csat_request.sender_id)
    rating = await request.app[RATINGS].record(csat_request)
    return web.json_response(rating_json(rating), status=201)


async def patch_rating(request: web.Request) -> web.Response:
    require_bot(request)
    rating_id = path_id(request, "rating")
    comment_request = parse_comment_request(await read_json_object(request))
    about_conversation(request, comment_request.sender_id)
    rating = await request.app[RATINGS].add_comment(rating_id, comment_request)
    return web.json_response(rating_json(rating))
