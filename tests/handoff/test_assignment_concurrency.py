"""Two service instances (two engines on one database) dispatching and agents
claiming at the same time: every handoff is assigned exactly once and no
agent gets more than their capacity."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, add_agent, bearer, handoff_body
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handoff.app import create_app
from handoff.app_keys import DISPATCHER
from handoff.queue.assignment import load_of
from handoff.queue.states import HandoffStatus
from handoff.settings import Settings
from handoff.staff.auth import AuthService
from handoff.storage.models import Agent, Handoff
from handoff.vocabulary import AgentStatus

Client = TestClient[web.Request, web.Application]
HANDOFFS = 60
ROUTED_AGENTS = 10
CAPACITY = 3
CLAIMING_AGENTS = 5
CLAIMS_EACH = 6
DISPATCHES_PER_INSTANCE = 6


async def test_no_handoff_is_ever_assigned_twice(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    auth_service: AuthService,
    agent_password_hash: str,
) -> None:
    instances = [
        await aiohttp_client(create_app(settings, run_sweeper=False)) for _ in range(2)
    ]
    routed = [
        await add_agent(
            sessions,
            agent_password_hash,
            f"routed{index}",
            status=AgentStatus.OFFLINE,
            capacity=CAPACITY,
        )
        for index in range(ROUTED_AGENTS)
    ]
    claimers = [
        await add_agent(
            sessions, agent_password_hash, f"claimer{index}", status=AgentStatus.OFFLINE
        )
        for index in range(CLAIMING_AGENTS)
    ]
    created = await asyncio.gather(
        *(
            instances[index % 2].post(
                "/api/rasa/handoffs",
                json=handoff_body(f"customer{index}"),
                headers=BOT_HEADERS,
            )
            for index in range(HANDOFFS)
        )
    )
    handoff_ids = [(await response.json())["id"] for response in created]
    assert len(set(handoff_ids)) == HANDOFFS
    async with sessions.begin() as session:
        await session.execute(
            update(Agent)
            .where(Agent.id.in_([agent.id for agent in routed]))
            .values(status=AgentStatus.ONLINE)
        )

    # Claimers go after the oldest handoffs, the ones dispatch picks first.
    targets = itertools.cycle(handoff_ids[: CLAIMING_AGENTS * CLAIMS_EACH])
    claims = [
        (agent, bearer((await auth_service.issue_token(agent)).token), next(targets))
        for agent in claimers
        for _ in range(CLAIMS_EACH)
    ]

    async def claim(client: Client, headers: dict[str, str], handoff_id: int) -> Any:
        response = await client.post(
            f"/api/handoffs/{handoff_id}/claim", headers=headers
        )
        return response.status

    results = await asyncio.gather(
        *(
            instance.app[DISPATCHER].dispatch()
            for instance in instances
            for _ in range(DISPATCHES_PER_INSTANCE)
        ),
        *(
            claim(instances[index % 2], headers, handoff_id)
            for index, (_, headers, handoff_id) in enumerate(claims)
        ),
    )

    dispatched = [
        (handoff.id, handoff.assigned_agent_id)
        for batch in results[: 2 * DISPATCHES_PER_INSTANCE]
        for handoff in batch
    ]
    claim_statuses = results[2 * DISPATCHES_PER_INSTANCE :]
    assert set(claim_statuses) <= {200, 409}
    dispatched_ids = [handoff_id for handoff_id, _ in dispatched]
    assert len(dispatched_ids) == len(set(dispatched_ids))

    async with sessions() as session:
        assigned = dict(
            (
                await session.execute(
                    select(Handoff.id, Handoff.assigned_agent_id).where(
                        Handoff.status == HandoffStatus.ASSIGNED
                    )
                )
            ).all()
        )
        loads = dict(
            (
                await session.execute(
                    select(Agent.id, load_of(Agent.id)).where(
                        Agent.id.in_([agent.id for agent in routed])
                    )
                )
            ).all()
        )
    # What each dispatcher announced is what the database holds: no dispatch
    # overwrote a claim or another dispatch.
    for handoff_id, agent_id in dispatched:
        assert assigned[handoff_id] == agent_id
    claimer_ids = {agent.id for agent in claimers}
    claimed = {
        handoff_id for handoff_id, owner in assigned.items() if owner in claimer_ids
    }
    assert claimed.isdisjoint(dispatched_ids)
    assert len(assigned) == len(dispatched) + len(claimed)
    assert sum(status == 200 for status in claim_statuses) == len(claimed)
    # Every routed agent is full, and nobody above capacity.
    assert set(loads.values()) == {CAPACITY}
    assert len(dispatched) == ROUTED_AGENTS * CAPACITY
    assert await instances[0].app[DISPATCHER].dispatch() == []
