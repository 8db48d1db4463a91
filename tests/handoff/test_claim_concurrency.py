"""Races: many agents claiming one handoff, the bot asking twice at once."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, handoff_body, user_event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.staff.auth import AuthService
from handoff.storage.models import Agent, AgentRole, Handoff, Message

Client = TestClient[web.Request, web.Application]
CONTENDERS = 20


async def test_exactly_one_of_many_concurrent_claims_wins(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    auth_service: AuthService,
    agent_password_hash: str,
) -> None:
    agents = [
        Agent(
            username=f"agent{index}",
            display_name=f"Agent {index}",
            role=AgentRole.AGENT,
            password_hash=agent_password_hash,
        )
        for index in range(CONTENDERS)
    ]
    async with sessions.begin() as session:
        session.add_all(agents)
    headers = [
        {"Authorization": f"Bearer {(await auth_service.issue_token(agent)).token}"}
        for agent in agents
    ]
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )
    handoff_id = (await created.json())["id"]

    responses = await asyncio.gather(
        *(
            client.post(f"/api/handoffs/{handoff_id}/claim", headers=header)
            for header in headers
        )
    )

    statuses = sorted(response.status for response in responses)
    assert statuses == [200] + [409] * (CONTENDERS - 1)
    winner = next(
        agent
        for agent, response in zip(agents, responses, strict=True)
        if response.status == 200
    )
    for response in responses:
        if response.status == 409:
            assert (await response.json())["error"] == "already_assigned"
    async with sessions() as session:
        handoff = await session.get_one(Handoff, handoff_id)
    assert handoff.assigned_agent_id == winner.id


async def test_concurrent_requests_for_one_customer_open_one_handoff(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    responses = await asyncio.gather(
        *(
            client.post("/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS)
            for _ in range(10)
        )
    )

    assert sorted(response.status for response in responses) == [200] * 9 + [201]
    ids = {(await response.json())["id"] for response in responses}
    assert len(ids) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Handoff)) == 1


async def test_concurrent_redeliveries_store_an_event_once(
    client: Client, sessions: async_sessionmaker[AsyncSession], tokens: Any
) -> None:
    await client.post("/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS)

    responses = await asyncio.gather(
        *(
            client.post(
                "/api/rasa/events", json={"events": [user_event()]}, headers=BOT_HEADERS
            )
            for _ in range(10)
        )
    )

    counts = [await response.json() for response in responses]
    assert sum(count["accepted"] for count in counts) == 1
    assert sum(count["duplicates"] for count in counts) == 9
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1
