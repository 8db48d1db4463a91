"""Agents: everyone's own status, the team list, and supervisors' management."""

from __future__ import annotations

from aiohttp import web

from handoff.api.presenters import agent_profile_json
from handoff.api.validation import (
    parse_agent_changes,
    parse_agent_status,
    parse_new_agent,
    parse_own_settings,
    read_json_object,
)
from handoff.api.views.common import current_agent, current_supervisor, path_id
from handoff.app_keys import AGENTS
from handoff.staff.agents import AgentProfile


def _json(profile: AgentProfile) -> dict[str, object]:
    return agent_profile_json(profile.agent, profile.skills, profile.load)


async def me(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    return web.json_response(_json(await request.app[AGENTS].profile(agent.id)))


async def change_my_settings(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    settings = parse_own_settings(await read_json_object(request))
    profile = await request.app[AGENTS].change_own_settings(agent, settings)
    return web.json_response(_json(profile))


async def set_my_status(request: web.Request) -> web.Response:
    agent = await current_agent(request)
    status = parse_agent_status(await read_json_object(request))
    return web.json_response(_json(await request.app[AGENTS].set_status(agent, status)))


async def list_agents(request: web.Request) -> web.Response:
    # Agents see the team too: a transfer needs someone to transfer to.
    await current_agent(request)
    profiles = await request.app[AGENTS].list_agents()
    return web.json_response({"agents": [_json(profile) for profile in profiles]})


async def create_agent(request: web.Request) -> web.Response:
    await current_supervisor(request)
    new_agent = parse_new_agent(await read_json_object(request))
    profile = await request.app[AGENTS].create(new_agent)
    return web.json_response(_json(profile), status=201)


async def update_agent(request: web.Request) -> web.Response:
    await current_supervisor(request)
    agent_id = path_id(request, "agent")
    changes = parse_agent_changes(await read_json_object(request))
    profile = await request.app[AGENTS].update(agent_id, changes)
    return web.json_response(_json(profile))
