"""Each request's log lines name its conversation, and only its own.

The middleware gives every request a fresh conversation context; a view that
learns which customer the request is about names it (``about_conversation``),
and the records logged from then on carry its log id
(``handoff.observability.logs``). Nothing outlives the request, even on a
kept-alive connection.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from handoff.app_keys import SETTINGS
from handoff.observability.logs import (
    conversation,
    conversation_log_id,
    set_conversation,
)


@web.middleware
async def conversation_scope(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    with conversation(None):
        return await handler(request)


def about_conversation(request: web.Request, sender_id: str | None) -> None:
    """Names the request's conversation in its logs; None names none."""
    set_conversation(
        None
        if sender_id is None
        else conversation_log_id(sender_id, request.app[SETTINGS].service_secret)
    )
