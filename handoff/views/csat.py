"""The bot posts a customer's rating (shared secret)."""

from __future__ import annotations

from aiohttp import web

from handoff.app_keys import SESSIONS
from handoff.csat import parse_csat_request, record_rating
from handoff.presenters import timestamp
from handoff.validation import read_json_object
from handoff.views.common import require_bot


async def post_rating(request: web.Request) -> web.Response:
    require_bot(request)
    csat_request = parse_csat_request(await read_json_object(request))
    rating = await record_rating(request.app[SESSIONS], csat_request)
    return web.json_response(
        {
            "id": rating.id,
            "sender_id": rating.sender_id,
            "score": rating.score,
            "comment": rating.comment,
            "handoff_id": rating.handoff_id,
            "agent_id": rating.agent_id,
            "created_at": timestamp(rating.created_at),
        },
        status=201,
    )
