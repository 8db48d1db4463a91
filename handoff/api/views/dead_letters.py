"""The events from the bot the service could not take, for supervisors."""

from __future__ import annotations

from aiohttp import web

from handoff.api.presenters import dead_letter_json
from handoff.api.validation import parse_dead_letter_query
from handoff.api.views.common import current_supervisor
from handoff.app_keys import DEAD_LETTERS


async def list_dead_letters(request: web.Request) -> web.Response:
    await current_supervisor(request)
    query = parse_dead_letter_query(request.query)
    page = await request.app[DEAD_LETTERS].page(query)
    return web.json_response(
        {
            "dead_letters": [dead_letter_json(letter) for letter in page.dead_letters],
            "next_before": page.next_before,
        }
    )
