"""Calls from the bot, authenticated with the shared service secret."""

from __future__ import annotations

import logging

from aiohttp import web

from handoff.api.log_context import about_conversation
from handoff.api.presenters import handoff_json, message_json
from handoff.api.validation import (
    parse_delivery_report,
    parse_event_batch,
    parse_handoff_request,
    parse_refusal_report,
    read_json_object,
)
from handoff.api.views.common import require_bot
from handoff.app_keys import (
    CONVERSATIONS,
    DEAD_LETTERS,
    HANDOFFS,
    INGESTOR,
    LATE_DELIVERIES,
    METRICS,
    REFUSALS,
)
from handoff.conversation.late_deliveries import LateFailure
from handoff.errors import InvalidRequest, MalformedJson
from handoff.observability.metrics import IngestError

logger = logging.getLogger(__name__)


async def request_handoff(request: web.Request) -> web.Response:
    require_bot(request)
    handoff_request = parse_handoff_request(await read_json_object(request))
    about_conversation(request, handoff_request.sender_id)
    creation = await request.app[HANDOFFS].create_handoff(handoff_request)
    result = creation.result
    logger.info(
        "handoff %s %s: %s, %s queue",
        result.handoff.id,
        "opened" if creation.created else "already open",
        result.handoff.reason,
        result.handoff.skill.value,
    )
    return web.json_response(
        {
            **handoff_json(result.handoff, result.queue_position),
            "sender_id": result.handoff.sender_id,
            "estimated_wait_seconds": creation.estimated_wait_seconds,
        },
        status=201 if creation.created else 200,
    )


async def ingest_events(request: web.Request) -> web.Response:
    require_bot(request)
    metrics = request.app[METRICS]
    try:
        batch = parse_event_batch(await read_json_object(request))
    except (InvalidRequest, MalformedJson):
        metrics.ingest_failed(IngestError.INVALID_BATCH)
        raise
    metrics.ingest_failed(IngestError.INVALID_EVENT, len(batch.refused))
    metrics.ingest_failed(IngestError.DROPPED_BY_BOT, batch.dropped)
    senders = {event.sender_id for event in batch.events}
    if len(senders) == 1:
        about_conversation(request, senders.pop())
    try:
        result = await request.app[INGESTOR].ingest(batch.events)
    except Exception:
        # The broker sends the batch again; the count says it had to.
        metrics.ingest_failed(IngestError.FAILED)
        raise
    # After the ingestion, whose frames agents are waiting for.
    await request.app[CONVERSATIONS].record(batch.raw_events)
    await request.app[DEAD_LETTERS].keep(batch)
    return web.json_response(
        {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "ignored": result.ignored,
            "dead_lettered": [
                {"index": refused.index, "reason": refused.reason}
                for refused in batch.refused
            ],
        },
        status=202,
    )


async def count_refusal(request: web.Request) -> web.Response:
    """A one-time code or phone number the bot refused, for the numbers."""
    require_bot(request)
    report = parse_refusal_report(await read_json_object(request))
    about_conversation(request, report.sender_id)
    refusal = await request.app[REFUSALS].record(report.sender_id, report.kind)
    return web.json_response(
        {
            "kind": refusal.kind,
            "sender_id": refusal.sender_id,
            "created_at": refusal.created_at.isoformat(),
        },
        status=201,
    )


async def report_delivery(request: web.Request) -> web.Response:
    """An agent's reply its platform accepted and then failed to deliver."""
    require_bot(request)
    report = parse_delivery_report(await read_json_object(request))
    recorded = await request.app[LATE_DELIVERIES].record(
        LateFailure(report.message_id, report.reason, report.permanent, report.detail)
    )
    message = recorded.message
    return web.json_response(
        {
            "changed": recorded.changed,
            # The agent's name is the console's business, not the bot's.
            "message": message_json(message, None),
        }
    )
