"""What every authenticated view needs from a request."""

from __future__ import annotations

from aiohttp import web

from handoff.api.validation import parse_path_id
from handoff.app_keys import AUTH, SETTINGS
from handoff.staff.auth import bearer_token, check_service_secret
from handoff.staff.permissions import require_supervisor
from handoff.storage.models import Agent


async def current_agent(request: web.Request) -> Agent:
    return await request.app[AUTH].agent_for_token(bearer_token(request))


async def current_supervisor(request: web.Request) -> Agent:
    agent = await current_agent(request)
    require_supervisor(agent)
    return agent


def require_bot(request: web.Request) -> None:
    check_service_secret(request, request.app[SETTINGS].service_secret)


def handoff_id(request: web.Request) -> int:
    return parse_path_id(request.match_info["id"], "handoff")


def path_id(request: web.Request, kind: str) -> int:
    return parse_path_id(request.match_info["id"], kind)
