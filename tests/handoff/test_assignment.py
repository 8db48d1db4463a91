"""Auto-assignment: priority, FIFO, skills, least-loaded, capacity, status."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, add_agent, bearer, handoff_body
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.app_keys import DISPATCHER, LIVE_FEED
from handoff.queue.state_machine import Actor, Transitions
from handoff.queue.states import HandoffStatus
from handoff.staff.auth import AuthService
from handoff.storage.models import Handoff
from handoff.vocabulary import AgentStatus, Skill, TransitionReason

Client = TestClient[web.Request, web.Application]


async def request_handoff(client: Client, sender_id: str, **fields: Any) -> Any:
    response = await client.post(
        "/api/rasa/handoffs",
        json=handoff_body(sender_id, **fields),
        headers=BOT_HEADERS,
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def owner_of(sessions: async_sessionmaker[AsyncSession], handoff_id: int) -> Any:
    async with sessions() as session:
        return (await session.get_one(Handoff, handoff_id)).assigned_agent_id


async def test_a_new_handoff_goes_straight_to_a_free_agent_with_the_skill(
    client: Client, sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> None:
    billing = await add_agent(
        sessions, agent_password_hash, "billy", skills=[Skill.BILLING]
    )
    await add_agent(sessions, agent_password_hash, "tech", skills=[Skill.TECHNICAL])

    handoff = await request_handoff(client, "c1", skill="billing")

    assert handoff["status"] == "assigned"
    assert handoff["assigned_agent_id"] == billing.id
    assert handoff["queue_position"] is None


async def test_without_an_agent_with_the_skill_the_handoff_waits(
    client: Client, sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> None:
    await add_agent(sessions, agent_password_hash, "tech", skills=[Skill.TECHNICAL])

    handoff = await request_handoff(client, "c1", skill="retention")

    assert handoff["status"] == "queued"
    assert handoff["queue_position"] == 1


async def test_away_and_offline_agents_get_nothing(
    client: Client, sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> None:
    await add_agent(sessions, agent_password_hash, "away", status=AgentStatus.AWAY)
    await add_agent(sessions, agent_password_hash, "gone", status=AgentStatus.OFFLINE)

    handoff = await request_handoff(client, "c1")

    assert handoff["status"] == "queued"


async def test_priority_first_then_first_come_first_served(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    agent_password_hash: str,
    auth_service: AuthService,
) -> None:
    low = await request_handoff(client, "low", priority="low")
    normal_first = await request_handoff(client, "n1")
    urgent = await request_handoff(client, "urgent", priority="urgent")
    normal_second = await request_handoff(client, "n2")
    high = await request_handoff(client, "high", priority="high")
    # The urgent one went ahead of the low one that came first.
    assert [low["queue_position"], urgent["queue_position"]] == [1, 1]
    viewer = await add_agent(
        sessions, agent_password_hash, "viewer", status=AgentStatus.OFFLINE
    )
    headers = bearer((await auth_service.issue_token(viewer)).token)

    queue = await client.get("/api/handoffs?status=queued", headers=headers)

    listed = [
        (item["id"], item["queue_position"])
        for item in (await queue.json())["handoffs"]
    ]
    expected = [urgent, high, normal_first, normal_second, low]
    assert listed == [
        (item["id"], position) for position, item in enumerate(expected, 1)
    ]

    agent = await add_agent(sessions, agent_password_hash, "solo", capacity=1)
    order = []
    for _ in expected:
        assigned = await client.app[DISPATCHER].dispatch()
        assert len(assigned) == 1
        order.append(assigned[0].id)
        # Finish it so the single slot frees up for the next one.
        async for attempt in Transitions(sessions, client.app[LIVE_FEED]).attempts():
            async with attempt as changes:
                finished = await changes.move(
                    assigned[0].id,
                    HandoffStatus.RESOLVED,
                    by=Actor.agent(agent.id),
                    reason=TransitionReason.CLOSED,
                    source=HandoffStatus.ASSIGNED,
                )
        assert finished is not None
        assert finished.assigned_agent_id == agent.id
    assert order == [item["id"] for item in expected]


async def test_queue_positions_count_within_a_skill(client: Client) -> None:
    first_billing = await request_handoff(client, "b1", skill="billing")
    first_technical = await request_handoff(client, "t1", skill="technical")
    second_billing = await request_handoff(client, "b2", skill="billing")

    assert first_billing["queue_position"] == 1
    assert first_technical["queue_position"] == 1
    assert second_billing["queue_position"] == 2


async def test_the_least_loaded_agent_gets_the_next_one(
    client: Client, sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> None:
    busy = await add_agent(sessions, agent_password_hash, "busy")
    idle = await add_agent(sessions, agent_password_hash, "idle")

    owners = [
        (await request_handoff(client, f"c{index}"))["assigned_agent_id"]
        for index in range(4)
    ]

    # Each new handoff goes to whoever has fewer: they alternate.
    assert owners == [busy.id, idle.id, busy.id, idle.id]


async def test_capacity_is_never_exceeded(
    client: Client, sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> None:
    agent = await add_agent(sessions, agent_password_hash, "small", capacity=2)

    handoffs = [await request_handoff(client, f"c{index}") for index in range(3)]

    assert [handoff["assigned_agent_id"] for handoff in handoffs] == [
        agent.id,
        agent.id,
        None,
    ]
    assert handoffs[2]["status"] == "queued"


async def test_going_online_takes_the_waiting_work(
    client: Client, sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> None:
    agent = await add_agent(
        sessions, agent_password_hash, "late", status=AgentStatus.OFFLINE
    )
    waiting = await request_handoff(client, "c1")
    assert waiting["status"] == "queued"
    login = await client.post(
        "/api/auth/login",
        json={"username": "late", "password": "correct horse battery staple"},
    )
    headers = bearer((await login.json())["token"])

    response = await client.put(
        "/api/agents/me/status", json={"status": "online"}, headers=headers
    )

    assert response.status == 200
    me = await response.json()
    assert me["status"] == "online"
    assert me["load"] == 1
    assert await owner_of(sessions, waiting["id"]) == agent.id


async def test_closing_a_chat_frees_the_slot_for_the_next_customer(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    agent_password_hash: str,
    auth_service: AuthService,
) -> None:
    agent = await add_agent(sessions, agent_password_hash, "one", capacity=1)
    headers = bearer((await auth_service.issue_token(agent)).token)
    first = await request_handoff(client, "c1")
    second = await request_handoff(client, "c2")
    assert second["status"] == "queued"

    closed = await client.post(f"/api/handoffs/{first['id']}/close", headers=headers)

    assert closed.status == 200
    assert await owner_of(sessions, second["id"]) == agent.id


async def test_a_transfer_to_a_queue_is_routed_to_that_skill(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    agent_password_hash: str,
    auth_service: AuthService,
) -> None:
    general = await add_agent(sessions, agent_password_hash, "gen")
    technical = await add_agent(
        sessions, agent_password_hash, "tech", skills=[Skill.TECHNICAL]
    )
    handoff = await request_handoff(client, "c1")
    assert handoff["assigned_agent_id"] == general.id

    response = await client.post(
        f"/api/handoffs/{handoff['id']}/transfer",
        json={"to_skill": "technical", "note": "router keeps rebooting"},
        headers=bearer((await auth_service.issue_token(general)).token),
    )

    assert response.status == 200
    moved = await response.json()
    assert moved["skill"] == "technical"
    assert moved["assigned_agent_id"] == technical.id
    assert moved["status"] == "assigned"
