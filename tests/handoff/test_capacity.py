"""No path gives an agent more live conversations than their capacity, unless a
supervisor says so explicitly: claims, transfers, and both at once."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import Team, agent_headers
from handoff_testing import BOT_HEADERS, add_agent, handoff_body
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.queue.states import HandoffStatus
from handoff.staff.auth import AuthService
from handoff.storage.models import Agent, Handoff
from handoff.vocabulary import AgentStatus

Client = TestClient[web.Request, web.Application]


async def queued(client: Client, count: int) -> list[int]:
    ids = []
    for index in range(count):
        response = await client.post(
            "/api/rasa/handoffs",
            json=handoff_body(f"customer-{index}"),
            headers=BOT_HEADERS,
        )
        assert response.status == 201, await response.text()
        ids.append((await response.json())["id"])
    return ids


async def claim(
    client: Client, handoff_id: int, headers: dict[str, str], **body: Any
) -> Any:
    return await client.post(
        f"/api/handoffs/{handoff_id}/claim", headers=headers, json=body or None
    )


async def away_agent(
    sessions: async_sessionmaker[AsyncSession],
    auth: AuthService,
    agent_password_hash: str,
    username: str,
    capacity: int,
) -> tuple[Agent, dict[str, str]]:
    # Away: the dispatcher assigns nothing to them by itself.
    agent = await add_agent(
        sessions,
        agent_password_hash,
        username,
        status=AgentStatus.AWAY,
        capacity=capacity,
    )
    return agent, await agent_headers(auth, agent)


async def live_load(sessions: async_sessionmaker[AsyncSession], agent_id: int) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).where(
                    Handoff.assigned_agent_id == agent_id,
                    Handoff.status == HandoffStatus.ASSIGNED,
                )
            )
            or 0
        )


async def test_a_claim_past_capacity_is_refused_with_the_reason(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    auth_service: AuthService,
    agent_password_hash: str,
) -> None:
    hana, headers = await away_agent(
        sessions, auth_service, agent_password_hash, "hana", capacity=2
    )
    first, second, third = await queued(client, 3)
    for handoff_id in (first, second):
        assert (await claim(client, handoff_id, headers)).status == 200

    refused = await claim(client, third, headers)

    assert refused.status == 409
    body = await refused.json()
    assert body["error"] == "at_capacity"
    assert "already has 2 of 2 conversations" in body["message"]
    assert (body["load"], body["capacity"]) == (2, 2)
    assert await live_load(sessions, hana.id) == 2
    # Claiming one's own conversation again is not a new one.
    assert (await claim(client, first, headers)).status == 200


async def test_only_a_supervisor_may_override_capacity(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    auth_service: AuthService,
    agent_password_hash: str,
    team: Team,
    tokens: dict[str, dict[str, str]],
) -> None:
    _, headers = await away_agent(
        sessions, auth_service, agent_password_hash, "hana", capacity=1
    )
    first, second, third = await queued(client, 3)
    assert (await claim(client, first, headers)).status == 200

    refused = await claim(client, second, headers, override_capacity=True)
    assert refused.status == 403
    assert (await refused.json())["error"] == "forbidden"

    async with sessions.begin() as session:
        sora = await session.get(Agent, team.sora.id)
        assert sora is not None
        sora.capacity = 1
    assert (await claim(client, second, tokens["sora"])).status == 200
    full = await claim(client, third, tokens["sora"])
    assert (await full.json())["error"] == "at_capacity"
    overridden = await claim(client, third, tokens["sora"], override_capacity=True)
    assert overridden.status == 200
    assert await live_load(sessions, team.sora.id) == 2


async def test_a_transfer_to_a_full_agent_needs_a_supervisors_override(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    auth_service: AuthService,
    agent_password_hash: str,
    tokens: dict[str, dict[str, str]],
) -> None:
    hana, hana_headers = await away_agent(
        sessions, auth_service, agent_password_hash, "hana", capacity=1
    )
    _, dara_headers = await away_agent(
        sessions, auth_service, agent_password_hash, "dara", capacity=3
    )
    held, moving = await queued(client, 2)
    assert (await claim(client, held, hana_headers)).status == 200
    assert (await claim(client, moving, dara_headers)).status == 200
    transfer = {"to_agent_id": hana.id, "note": "billing question"}

    refused = await client.post(
        f"/api/handoffs/{moving}/transfer", json=transfer, headers=dara_headers
    )
    assert refused.status == 409
    assert (await refused.json())["error"] == "at_capacity"

    not_allowed = await client.post(
        f"/api/handoffs/{moving}/transfer",
        json={**transfer, "override_capacity": True},
        headers=dara_headers,
    )
    assert not_allowed.status == 403
    assert "only a supervisor" in (await not_allowed.json())["message"]
    assert await live_load(sessions, hana.id) == 1

    overridden = await client.post(
        f"/api/handoffs/{moving}/transfer",
        json={**transfer, "override_capacity": True},
        headers=tokens["sora"],
    )
    assert overridden.status == 200, await overridden.text()
    assert await live_load(sessions, hana.id) == 2


async def test_claims_at_once_never_take_an_agent_past_capacity(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    auth_service: AuthService,
    agent_password_hash: str,
) -> None:
    hana, headers = await away_agent(
        sessions, auth_service, agent_password_hash, "hana", capacity=2
    )
    ids = await queued(client, 6)

    responses = await asyncio.gather(*(claim(client, i, headers) for i in ids))

    statuses = sorted(response.status for response in responses)
    assert statuses == [200, 200, 409, 409, 409, 409]
    assert await live_load(sessions, hana.id) == 2


async def test_a_malformed_override_is_refused(client: Client, tokens: Any) -> None:
    (handoff_id,) = await queued(client, 1)

    refused = await claim(client, handoff_id, tokens["sora"], override_capacity="yes")

    assert refused.status == 400
    assert (await refused.json())[
        "message"
    ] == "override_capacity must be true or false"
