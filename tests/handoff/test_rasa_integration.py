"""Agent replies and closing, checked on a stand-in Rasa server."""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import (
    BOT_HEADERS,
    RASA_TOKEN,
    RecordedRequest,
    StandInRasa,
    assert_refused,
    handoff_body,
)
from pytest_aiohttp import AiohttpClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handoff.app import create_app
from handoff.conversation.rasa_client import RasaHttpClient
from handoff.errors import RasaUnavailable
from handoff.queue.states import HandoffStatus
from handoff.settings import Settings
from handoff.storage.models import Delivery, Handoff, Message

Client = TestClient[web.Request, web.Application]


async def assigned_handoff(
    client: Client, headers: dict[str, str], sender_id: str = "c0ffee"
) -> int:
    response = await client.post(
        "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
    )
    handoff_id = int((await response.json())["id"])
    claimed = await client.post(f"/api/handoffs/{handoff_id}/claim", headers=headers)
    assert claimed.status == 200
    return handoff_id


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_reply_is_appended_to_the_customers_conversation(
    client: Client, tokens: Any, team: Any, rasa: StandInRasa
) -> None:
    handoff_id = await assigned_handoff(client, tokens["mina"])

    response = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "  안녕하세요, 상담원 민아입니다.  "},
        headers=tokens["mina"],
    )

    assert response.status == 201
    message = await response.json()
    assert message == {
        "id": message["id"],
        "handoff_id": handoff_id,
        "role": "agent",
        "text": "안녕하세요, 상담원 민아입니다.",
        "agent_id": team.mina.id,
        "agent_name": "Mina Kim",
        "created_at": message["created_at"],
        "delivery": "delivered",
        "client_id": None,
        "delivery_failure": None,
        "attachment": None,
    }
    # The claim's notice went out first; the reply waited for it.
    assert [request.body["text"] for request in rasa.requests[:1]] == [
        "상담원 Mina Kim님이 연결되었습니다. 지금부터 도와드릴게요."
    ]
    assert rasa.requests[1:] == [
        RecordedRequest(
            method="POST",
            path="/conversations/c0ffee/tracker/events",
            query={
                "output_channel": "latest",
                "execute_side_effects": "true",
                "token": RASA_TOKEN,
            },
            body={
                "event": "bot",
                "text": "안녕하세요, 상담원 민아입니다.",
                "metadata": {"tandem_message_id": message["id"], "agent": "Mina Kim"},
            },
        )
    ]


async def test_close_resumes_the_bot_then_triggers_the_closing_intent(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff_id = await assigned_handoff(client, tokens["mina"])

    response = await client.post(
        f"/api/handoffs/{handoff_id}/close", headers=tokens["mina"]
    )

    assert response.status == 200
    closed = await response.json()
    assert closed["status"] == "resolved"
    assert closed["resolved_at"] is not None
    assert rasa.without_notices == [
        RecordedRequest(
            method="POST",
            path="/conversations/c0ffee/tracker/events",
            query={
                "output_channel": "latest",
                "execute_side_effects": "true",
                "token": RASA_TOKEN,
            },
            body=[
                {"event": "resume"},
                {"event": "action", "name": "action_listen"},
            ],
        ),
        RecordedRequest(
            method="POST",
            path="/conversations/c0ffee/trigger_intent",
            query={"output_channel": "latest", "token": RASA_TOKEN},
            body={
                "name": "EXTERNAL_handoff_closed",
                "entities": {"handoff_id": handoff_id},
            },
        ),
    ]


async def test_closing_twice_is_an_invalid_transition(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff_id = await assigned_handoff(client, tokens["mina"])
    await client.post(f"/api/handoffs/{handoff_id}/close", headers=tokens["mina"])

    again = await client.post(
        f"/api/handoffs/{handoff_id}/close", headers=tokens["mina"]
    )
    reply = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "still there?"},
        headers=tokens["mina"],
    )

    for refused in (again, reply):
        await assert_refused(
            refused, 409, "invalid_transition", f"handoff {handoff_id} is resolved"
        )
    assert len(rasa.without_notices) == 2


async def test_sender_ids_are_url_encoded(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff_id = await assigned_handoff(client, tokens["mina"], sender_id="a/b c?d#e")

    await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "hello"},
        headers=tokens["mina"],
    )

    assert [request.path for request in rasa.requests] == [
        "/conversations/a%2Fb%20c%3Fd%23e/tracker/events"
    ] * 2


@pytest.mark.parametrize("sender_id", ["kakao:4ceb0d61c6e5", "whatsapp:+821012345678"])
async def test_messaging_sender_ids_reach_rasa_as_they_are(
    client: Client, tokens: Any, rasa: StandInRasa, sender_id: str
) -> None:
    # Rasa does not decode the conversation id in its paths: "kakao%3A…" would be
    # a conversation of its own, without the customer's channel.
    handoff_id = await assigned_handoff(client, tokens["mina"], sender_id=sender_id)

    await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "hello"},
        headers=tokens["mina"],
    )

    assert rasa.requests[0].path == f"/conversations/{sender_id}/tracker/events"


@pytest.mark.parametrize("failure", ["error_status", "connection_refused"])
async def test_reply_when_rasa_is_down_is_stored_as_failed(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Any,
    rasa: StandInRasa,
    failure: str,
) -> None:
    if failure == "error_status":
        rasa.status = 503
    else:
        settings = replace(settings, rasa_url=f"http://127.0.0.1:{unused_port()}")
    client = await aiohttp_client(create_app(settings))
    handoff_id = await assigned_handoff(client, tokens["mina"])

    response = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "hello"},
        headers=tokens["mina"],
    )

    assert response.status == 502
    problem = await response.json()
    assert problem["error"] == "rasa_unavailable"
    async with sessions() as session:
        stored = await session.get_one(Message, problem["message_id"])
        handoff = await session.get_one(Handoff, handoff_id)
    assert stored.delivery is Delivery.FAILED
    assert stored.text == "hello"
    assert handoff.status is HandoffStatus.ASSIGNED
    detail = await (
        await client.get(f"/api/handoffs/{handoff_id}", headers=tokens["mina"])
    ).json()
    assert [m["delivery"] for m in detail["messages"]] == ["failed"]


async def test_close_when_rasa_is_down_keeps_the_handoff_assigned(
    client: Client,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_id = await assigned_handoff(client, tokens["mina"])
    rasa.status = 500

    failed = await client.post(
        f"/api/handoffs/{handoff_id}/close", headers=tokens["mina"]
    )

    assert failed.status == 502
    assert (await failed.json())["error"] == "rasa_unavailable"
    async with sessions() as session:
        handoff = await session.get_one(Handoff, handoff_id)
        assert handoff.status is HandoffStatus.ASSIGNED
        assert handoff.resolved_at is None
        assert await session.scalar(select(func.count()).select_from(Message)) == 0

    rasa.status = 200
    retried = await client.post(
        f"/api/handoffs/{handoff_id}/close", headers=tokens["mina"]
    )
    assert retried.status == 200
    assert (await retried.json())["status"] == "resolved"


async def test_the_client_sends_no_token_when_none_is_configured(
    rasa: StandInRasa,
) -> None:
    async with aiohttp.ClientSession() as http:
        await RasaHttpClient(http, rasa.url + "/", "").append_bot_message(
            "c0ffee", "hi", 1, "Mina Kim"
        )

    assert rasa.requests[0].query == {
        "output_channel": "latest",
        "execute_side_effects": "true",
    }


async def test_the_client_reports_an_unreachable_rasa() -> None:
    async with aiohttp.ClientSession() as http:
        client = RasaHttpClient(http, f"http://127.0.0.1:{unused_port()}", "t")
        with pytest.raises(RasaUnavailable):
            await client.resume_and_trigger("c0ffee")


@pytest.mark.parametrize(
    ("sender_id", "path"),
    [
        ("whatsapp:+821012345678", "/conversations/whatsapp:+821012345678/"),
        ("telegram:424242", "/conversations/telegram:424242/"),
        ("a/b c", "/conversations/a%2Fb%20c/"),
    ],
)
async def test_a_messaging_channels_sender_id_reaches_rasa_as_it_is(
    rasa: StandInRasa, sender_id: str, path: str
) -> None:
    # Rasa's router matches paths undecoded: "%3A" would name another conversation.
    async with aiohttp.ClientSession() as http:
        await RasaHttpClient(http, rasa.url, "t").append_bot_message(
            sender_id, "hi", 1, "Mina Kim"
        )

    assert rasa.requests[0].path == path + "tracker/events"
