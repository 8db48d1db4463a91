"""Roles, agent management, status and sign-out."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import (
    AGENT_PASSWORD,
    BOT_HEADERS,
    assert_refused,
    bearer,
    handoff_body,
)
from sqlalchemy import ScalarResult, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.app_keys import HANDOFFS
from handoff.queue.states import HandoffStatus
from handoff.storage.models import AuthToken, Handoff, HandoffTransition
from handoff.vocabulary import Resolution, TransitionReason

Client = TestClient[web.Request, web.Application]

NEW_AGENT = {
    "username": "hana",
    "display_name": "Hana Choi",
    "password": "a long enough password",
    "skills": ["billing", "retention"],
    "capacity": 2,
}


async def login(client: Client, username: str, password: str = AGENT_PASSWORD) -> Any:
    return await client.post(
        "/api/auth/login", json={"username": username, "password": password}
    )


async def test_a_supervisor_creates_an_agent_who_can_sign_in(
    client: Client, tokens: Any
) -> None:
    response = await client.post("/api/agents", json=NEW_AGENT, headers=tokens["sora"])

    assert response.status == 201
    created = await response.json()
    assert created["skills"] == ["billing", "retention"]
    assert created["capacity"] == 2
    assert created["status"] == "offline"
    assert created["load"] == 0
    assert created["active"] is True
    assert (await login(client, "hana", NEW_AGENT["password"])).status == 200
    again = await client.post("/api/agents", json=NEW_AGENT, headers=tokens["sora"])
    await assert_refused(again, 409, "already_exists", "username hana is taken")


async def test_agents_may_not_manage_agents_or_canned_responses(
    client: Client, team: Any, tokens: Any
) -> None:
    for method, path, body in (
        ("POST", "/api/agents", NEW_AGENT),
        ("PATCH", f"/api/agents/{team.joon.id}", {"capacity": 5}),
        (
            "POST",
            "/api/canned-responses",
            {"language": "ko", "title": "t", "text": "x"},
        ),
        ("PATCH", "/api/canned-responses/1", {"text": "x"}),
        ("DELETE", "/api/canned-responses/1", None),
    ):
        response = await client.request(method, path, json=body, headers=tokens["mina"])
        await assert_refused(
            response, 403, "forbidden", "only a supervisor may do this"
        )


async def test_agent_bodies_are_validated(
    client: Client, team: Any, tokens: Any
) -> None:
    for body, message in (
        ({**NEW_AGENT, "password": "short"}, "password must be 10 to 1024"),
        ({**NEW_AGENT, "skills": ["cooking"]}, "skills[] must be one of"),
        ({**NEW_AGENT, "capacity": 0}, "capacity must be an integer from 1"),
        ({**NEW_AGENT, "capacity": True}, "capacity must be an integer from 1"),
        ({**NEW_AGENT, "username": "has space"}, "username may hold only"),
        ({**NEW_AGENT, "role": "admin"}, "role must be agent or supervisor"),
        ({**NEW_AGENT, "shoe_size": 42}, "unknown field(s): shoe_size"),
    ):
        response = await client.post("/api/agents", json=body, headers=tokens["sora"])
        await assert_refused(response, 400, "invalid_request", message)
    for body, message in (
        ({}, "give at least one field to change"),
        ({"active": "no"}, "active must be true or false"),
        ({"status": "asleep"}, "status must be one of: online, away, offline"),
        ({"skills": "billing"}, "skills must be a list of skills"),
    ):
        response = await client.patch(
            f"/api/agents/{team.mina.id}", json=body, headers=tokens["sora"]
        )
        await assert_refused(response, 400, "invalid_request", message)
    missing = await client.patch(
        "/api/agents/999999", json={"capacity": 2}, headers=tokens["sora"]
    )
    await assert_refused(missing, 404, "not_found", "agent 999999 does not exist")


async def test_deactivating_signs_out_and_requeues_the_agents_chats(
    client: Client,
    team: Any,
    tokens: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )
    handoff_id = (await created.json())["id"]
    await client.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"])

    response = await client.patch(
        f"/api/agents/{team.mina.id}", json={"active": False}, headers=tokens["sora"]
    )

    assert response.status == 200
    assert (await response.json())["active"] is False
    await assert_refused(
        await client.get("/api/handoffs", headers=tokens["mina"]),
        401,
        "unauthorized",
        "the token is unknown or has expired",
    )
    await assert_refused(
        await login(client, "mina"), 401, "unauthorized", "wrong username or password"
    )
    async with sessions() as session:
        handoff = await session.get_one(Handoff, handoff_id)
        assert handoff.status is HandoffStatus.QUEUED
        assert handoff.assigned_agent_id is None


@pytest.mark.postgres
async def test_a_close_during_the_requeue_on_deactivation_wins(
    client: Client,
    team: Any,
    tokens: Any,
    sessions: async_sessionmaker[AsyncSession],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one transaction at a time: nothing lands between")
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )
    handoff_id = (await created.json())["id"]
    await client.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"])
    reads = AsyncSession.scalars
    closes = []

    async def read_then_close(
        self: AsyncSession, *args: Any, **kwargs: Any
    ) -> ScalarResult[Any]:
        found = await reads(self, *args, **kwargs)
        if not closes:
            # Mina closes the chat after the requeue read her handoffs.
            closes.append(
                await client.app[HANDOFFS].close(
                    handoff_id, team.mina, Resolution.RESOLVED
                )
            )
        return found

    monkeypatch.setattr(AsyncSession, "scalars", read_then_close)
    await client.app[HANDOFFS].requeue_agent_conversations(team.mina.id)
    monkeypatch.undo()

    assert len(closes) == 1
    async with sessions() as session:
        handoff = await session.get_one(Handoff, handoff_id)
        assert handoff.status is HandoffStatus.RESOLVED
        last = await session.scalar(
            select(HandoffTransition)
            .where(HandoffTransition.handoff_id == handoff_id)
            .order_by(HandoffTransition.id.desc())
            .limit(1)
        )
    assert last is not None
    assert (last.to_status, last.reason) == (
        HandoffStatus.RESOLVED,
        TransitionReason.CLOSED,
    )


async def test_supervisor_sets_skills_capacity_and_status(
    client: Client, team: Any, tokens: Any
) -> None:
    response = await client.patch(
        f"/api/agents/{team.joon.id}",
        json={"skills": ["technical"], "capacity": 5, "status": "away"},
        headers=tokens["sora"],
    )

    assert response.status == 200
    joon = await response.json()
    assert (joon["skills"], joon["capacity"], joon["status"]) == (
        ["technical"],
        5,
        "away",
    )
    listing = await (await client.get("/api/agents", headers=tokens["mina"])).json()
    assert {agent["username"]: agent["status"] for agent in listing["agents"]} == {
        "mina": "offline",
        "joon": "away",
        "sora": "offline",
    }


async def test_own_status_is_validated(client: Client, tokens: Any) -> None:
    for body, message in (
        ({"status": "busy"}, "status must be one of: online, away, offline"),
        ({"status": None}, "status must not be null"),
        ({"status": "online", "x": 1}, "unknown field(s): x"),
    ):
        response = await client.put(
            "/api/agents/me/status", json=body, headers=tokens["mina"]
        )
        await assert_refused(response, 400, "invalid_request", message)


async def test_logout_revokes_the_token_and_goes_offline(
    client: Client, team: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = bearer((await (await login(client, "mina")).json())["token"])
    await client.put(
        "/api/agents/me/status", json={"status": "online"}, headers=headers
    )

    response = await client.post("/api/auth/logout", headers=headers)

    assert response.status == 204
    for revoked in (
        await client.get("/api/agents/me", headers=headers),
        await client.post("/api/auth/logout", headers=headers),
    ):
        await assert_refused(
            revoked, 401, "unauthorized", "the token is unknown or has expired"
        )
    relogin = bearer((await (await login(client, "mina")).json())["token"])
    me = await (await client.get("/api/agents/me", headers=relogin)).json()
    assert me["status"] == "offline"
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(AuthToken)) == 1
