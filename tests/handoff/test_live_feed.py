"""The agents' WebSocket live feed."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.test_utils import TestClient, make_mocked_request
from handoff_testing import BOT_HEADERS, expect_ready, handoff_body, user_event

from handoff.api.access_log import AccessLogger
from handoff.app_keys import LIVE_FEED
from handoff.conversation.chat_sessions import public_handle
from handoff.realtime.feed_relay import PostgresFeedRelay
from handoff.storage.db import is_sqlite

Client = TestClient[web.Request, web.Application]


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def test_agents_see_handoffs_and_messages_as_they_happen(
    client: Client, tokens: Any, team: Any
) -> None:
    # The supervisor's feed: agents other than the assignee do not receive the
    # messages of an assigned conversation.
    async with client.ws_connect(f"/api/ws?token={token_of(tokens['sora'])}") as feed:
        await expect_ready(feed)
        created = await client.post(
            "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
        )
        handoff = await created.json()
        # The estimate and the sender id are for the bot that asked, not part of
        # the Handoff object staff see.
        del handoff["estimated_wait_seconds"], handoff["sender_id"]
        detail = await client.get(
            f"/api/handoffs/{handoff['id']}", headers=tokens["sora"]
        )
        context = (await detail.json())["context"]
        assert context["transcript"] == handoff_body()["transcript"]
        # A new handoff reaches the agents with everything the bot gathered.
        assert await feed.receive_json(timeout=5) == {
            "type": "handoff.created",
            "handoff": {**handoff, "context": context},
        }

        await client.post(
            "/api/rasa/events", json={"events": [user_event()]}, headers=BOT_HEADERS
        )
        frame = await feed.receive_json(timeout=5)
        assert frame["type"] == "message.created"
        assert frame["handoff_id"] == handoff["id"]
        assert frame["message"]["role"] == "user"
        assert frame["message"]["text"] == user_event()["text"]

        claimed = await client.post(
            f"/api/handoffs/{handoff['id']}/claim", headers=tokens["mina"]
        )
        assert await feed.receive_json(timeout=5) == {
            "type": "handoff.updated",
            "handoff": await claimed.json(),
        }

        reply = await client.post(
            f"/api/handoffs/{handoff['id']}/messages",
            json={"text": "hello"},
            headers=tokens["mina"],
        )
        assert await feed.receive_json(timeout=5) == {
            "type": "message.created",
            "handoff_id": handoff["id"],
            "message": await reply.json(),
        }

        closed = await client.post(
            f"/api/handoffs/{handoff['id']}/close", headers=tokens["mina"]
        )
        frame = await feed.receive_json(timeout=5)
        assert frame == {"type": "handoff.updated", "handoff": await closed.json()}
        assert frame["handoff"]["status"] == "resolved"


async def test_asking_again_announces_nothing(client: Client, tokens: Any) -> None:
    await client.post("/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS)
    async with client.ws_connect(f"/api/ws?token={token_of(tokens['joon'])}") as feed:
        await expect_ready(feed)
        await client.post(
            "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
        )
        await client.post(
            "/api/rasa/handoffs", json=handoff_body("other"), headers=BOT_HEADERS
        )
        frame = await feed.receive_json(timeout=5)
        assert frame["handoff"]["conversation"] == public_handle("other")


@pytest.mark.parametrize("query", ["?token=not-a-token", "?token=", ""])
async def test_a_bad_token_closes_the_socket_with_4401(
    client: Client, tokens: Any, query: str
) -> None:
    async with client.ws_connect(f"/api/ws{query}") as feed:
        message = await feed.receive(timeout=5)
        assert message.type is WSMsgType.CLOSE
        assert feed.close_code == 4401
    assert len(client.app[LIVE_FEED]) == 0


async def test_another_sites_page_may_not_connect(client: Client, tokens: Any) -> None:
    url = f"/api/ws?token={token_of(tokens['mina'])}"

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(url, headers={"Origin": "http://evil.example"})
    assert refused.value.status == 403

    own_origin = f"http://{client.host}:{client.port}"
    async with client.ws_connect(url, headers={"Origin": own_origin}) as feed:
        assert not feed.closed
        await expect_ready(feed)


async def test_the_first_frame_says_the_socket_is_subscribed(
    client: Client, tokens: Any, team: Any
) -> None:
    async with client.ws_connect(f"/api/ws?token={token_of(tokens['joon'])}") as feed:
        assert await feed.receive_json(timeout=5) == {
            "type": "feed.ready",
            "agent_id": team.joon.id,
        }
        assert len(client.app[LIVE_FEED]) == 1


async def test_only_postgresql_shares_the_feed_between_instances(
    client: Client, database_url: str
) -> None:
    # The embedded SQLite database serves one instance: its feed stays in-process.
    relay = client.app[LIVE_FEED].relay
    if is_sqlite(database_url):
        assert relay is None
    else:
        assert isinstance(relay, PostgresFeedRelay)


async def test_shutdown_closes_sockets_with_going_away(
    client: Client, tokens: Any
) -> None:
    feed = await client.ws_connect(f"/api/ws?token={token_of(tokens['mina'])}")
    await expect_ready(feed)
    await client.post("/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS)
    await feed.receive_json(timeout=5)

    await client.app.shutdown()

    message = await feed.receive(timeout=5)
    assert message.type is WSMsgType.CLOSE
    assert feed.close_code == WSCloseCode.GOING_AWAY
    await feed.close()


def test_the_access_log_leaves_tokens_out(caplog: pytest.LogCaptureFixture) -> None:
    request = make_mocked_request("GET", "/api/ws?token=secret-token")
    logger = logging.getLogger("test.access")

    with caplog.at_level(logging.INFO, logger="test.access"):
        AccessLogger(logger, "").log(request, web.Response(status=101), 0.5)

    assert "/api/ws" in caplog.text
    assert "secret-token" not in caplog.text


async def test_another_agents_conversation_stays_off_an_agents_feed(
    client: Client, tokens: Any
) -> None:
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )
    handoff_id = (await created.json())["id"]
    await client.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"])
    async with client.ws_connect(f"/api/ws?token={token_of(tokens['joon'])}") as feed:
        await expect_ready(feed)
        await client.post(
            f"/api/handoffs/{handoff_id}/notes",
            json={"text": "private"},
            headers=tokens["mina"],
        )
        await client.post(
            "/api/rasa/handoffs", json=handoff_body("next"), headers=BOT_HEADERS
        )
        frame = await feed.receive_json(timeout=5)
        # The note was published first, but only the new handoff reaches Joon.
        assert frame["type"] == "handoff.created"


async def test_logout_closes_the_sockets_of_that_sign_in(
    client: Client, tokens: Any
) -> None:
    async with client.ws_connect(f"/api/ws?token={token_of(tokens['mina'])}") as feed:
        await expect_ready(feed)
        await client.post("/api/auth/logout", headers=tokens["mina"])
        message = await feed.receive(timeout=5)
        assert message.type == WSMsgType.CLOSE
        assert message.data == 4401
