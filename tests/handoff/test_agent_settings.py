"""Agents' own language, and the team's changes reaching every console live."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import AGENT_PASSWORD, expect_ready

Client = TestClient[web.Request, web.Application]


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def test_an_agent_chooses_the_language_the_pages_speak(
    client: Client, tokens: Any, team: Any
) -> None:
    login = await client.post(
        "/api/auth/login", json={"username": "mina", "password": AGENT_PASSWORD}
    )
    assert (await login.json())["agent"]["language"] == "ko"

    changed = await client.patch(
        "/api/agents/me", json={"language": "en"}, headers=tokens["mina"]
    )
    assert changed.status == 200
    assert (await changed.json())["language"] == "en"
    me = await (await client.get("/api/agents/me", headers=tokens["mina"])).json()
    assert me["language"] == "en"
    again = await client.post(
        "/api/auth/login", json={"username": "mina", "password": AGENT_PASSWORD}
    )
    assert (await again.json())["agent"]["language"] == "en"
    # Someone else's choice is theirs alone.
    joon = await (await client.get("/api/agents/me", headers=tokens["joon"])).json()
    assert joon["language"] == "ko"


@pytest.mark.parametrize(
    "body",
    [{"language": "fr"}, {"language": None}, {}, {"language": "en", "status": "away"}],
)
async def test_a_bad_language_change_is_refused_and_changes_nothing(
    client: Client, tokens: Any, team: Any, body: dict[str, Any]
) -> None:
    refused = await client.patch("/api/agents/me", json=body, headers=tokens["mina"])
    assert refused.status == 400
    assert (await refused.json())["error"] == "invalid_request"
    me = await (await client.get("/api/agents/me", headers=tokens["mina"])).json()
    assert (me["language"], me["status"]) == ("ko", "offline")


async def test_supervisors_set_the_language_of_new_and_existing_agents(
    client: Client, tokens: Any, team: Any
) -> None:
    created = await client.post(
        "/api/agents",
        json={
            "username": "hana",
            "display_name": "Hana Choi",
            "password": "a long enough password",
            "language": "en",
        },
        headers=tokens["sora"],
    )
    assert (await created.json())["language"] == "en"
    changed = await client.patch(
        f"/api/agents/{team.joon.id}", json={"language": "en"}, headers=tokens["sora"]
    )
    assert (await changed.json())["language"] == "en"
    refused = await client.patch(
        f"/api/agents/{team.joon.id}", json={"language": "jp"}, headers=tokens["sora"]
    )
    assert refused.status == 400


async def test_status_changes_reach_every_console(
    client: Client, tokens: Any, team: Any
) -> None:
    async with client.ws_connect(f"/api/ws?token={token_of(tokens['mina'])}") as feed:
        await expect_ready(feed)
        await client.put(
            "/api/agents/me/status", json={"status": "online"}, headers=tokens["joon"]
        )
        frame = await feed.receive_json(timeout=5)
        assert frame["type"] == "agent.updated"
        assert (frame["agent"]["username"], frame["agent"]["status"]) == (
            "joon",
            "online",
        )
        # Setting the status it already has tells nobody anything.
        await client.put(
            "/api/agents/me/status", json={"status": "online"}, headers=tokens["joon"]
        )
        await client.patch(
            f"/api/agents/{team.joon.id}", json={"capacity": 5}, headers=tokens["sora"]
        )
        frame = await feed.receive_json(timeout=5)
        assert (frame["type"], frame["agent"]["capacity"]) == ("agent.updated", 5)
        # Signing out of the last session sets offline, which the team sees too.
        await client.post("/api/auth/logout", headers=tokens["joon"])
        frame = await feed.receive_json(timeout=5)
        assert (frame["type"], frame["agent"]["status"]) == ("agent.updated", "offline")
