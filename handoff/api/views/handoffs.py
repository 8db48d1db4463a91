"""The agents' view of the queue, the offline worklist and their conversations."""

from __future__ import annotations

from aiohttp import web

from handoff.api.presenters import handoff_detail_json, handoff_json, message_json
from handoff.api.validation import (
    parse_agent_message,
    parse_claim,
    parse_close,
    parse_handoff_filter,
    parse_note,
    parse_transfer,
    read_json_object,
)
from handoff.api.views.common import current_agent, handoff_id
from handoff.app_keys import HANDOFFS


async def list_handoffs(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    listing = parse_handoff_filter(request.query)
    handoffs = await request.app[HANDOFFS].list_handoffs(agent, listing)
    return web.json_response(
        {
            "handoffs": [
                handoff_json(item.handoff, item.queue_position) for item in handoffs
            ]
        }
    )


async def get_handoff(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    detail = await request.app[HANDOFFS].get_handoff(agent, handoff_id(request))
    return web.json_response(
        handoff_detail_json(
            detail.handoff,
            detail.queue_position,
            detail.messages,
            detail.transfers,
            detail.agent_names,
            detail.attachments,
        )
    )


async def transcript(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    target = handoff_id(request)
    entries = await request.app[HANDOFFS].transcript(agent, target)
    return web.json_response(
        {
            "handoff_id": target,
            "entries": [
                {
                    "phase": entry.phase,
                    "role": entry.role,
                    "text": entry.text,
                    "timestamp": entry.timestamp,
                    "message_id": entry.message_id,
                    "agent_id": entry.agent_id,
                    "agent_name": entry.agent_name,
                }
                for entry in entries
            ],
        }
    )


async def claim(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    override = parse_claim(await read_json_object(request, optional=True))
    claimed = await request.app[HANDOFFS].claim(
        handoff_id(request), agent, override_capacity=override
    )
    return web.json_response(handoff_json(claimed.handoff, claimed.queue_position))


async def post_message(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    target = handoff_id(request)
    reply = parse_agent_message(await read_json_object(request))
    sent = await request.app[HANDOFFS].post_agent_message(
        target, agent, reply.text, reply.attachment_id, client_id=reply.client_id
    )
    return web.json_response(
        message_json(sent.message, agent.display_name, sent.attachment), status=201
    )


async def add_note(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    target = handoff_id(request)
    note = parse_note(await read_json_object(request))
    message = await request.app[HANDOFFS].add_note(target, agent, note.text)
    return web.json_response(message_json(message, agent.display_name), status=201)


async def transfer(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    target = handoff_id(request)
    transfer_request = parse_transfer(await read_json_object(request))
    moved = await request.app[HANDOFFS].transfer(target, agent, transfer_request)
    return web.json_response(handoff_json(moved.handoff, moved.queue_position))


async def close(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    target = handoff_id(request)
    resolution = parse_close(await read_json_object(request, optional=True))
    closed = await request.app[HANDOFFS].close(target, agent, resolution)
    return web.json_response(handoff_json(closed.handoff, closed.queue_position))
