"""Calls from the bot: the shared secret and Rasa's event stream."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, assert_refused, handoff_body, user_event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.models import Delivery, Handoff, Message

Client = TestClient[web.Request, web.Application]


async def post_events(client: Client, *events: dict[str, Any]) -> dict[str, int]:
    response = await client.post(
        "/api/rasa/events", json={"events": list(events)}, headers=BOT_HEADERS
    )
    assert response.status == 202, await response.text()
    counts = await response.json()
    assert counts.pop("dead_lettered") == []
    return dict(counts)


async def open_handoff(client: Client, sender_id: str = "c0ffee") -> int:
    response = await client.post(
        "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
    )
    assert response.status == 201
    return int((await response.json())["id"])


async def messages_of(client: Client, handoff_id: int, headers: Any) -> list[Any]:
    response = await client.get(f"/api/handoffs/{handoff_id}", headers=headers)
    return list((await response.json())["messages"])


@pytest.mark.parametrize("path", ["/api/rasa/handoffs", "/api/rasa/events"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-secret"},
        {"Authorization": "Basic dGVzdC1zZXJ2aWNlLXNlY3JldA=="},
        {"Authorization": "test-service-secret"},
    ],
    ids=["missing", "wrong", "basic", "no-scheme"],
)
async def test_bot_calls_need_the_shared_secret(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    path: str,
    headers: dict[str, str],
) -> None:
    body = handoff_body() if path.endswith("handoffs") else {"events": []}

    response = await client.post(path, json=body, headers=headers)

    message = (
        "wrong service secret"
        if headers.get("Authorization", "").startswith("Bearer ")
        else "an Authorization: Bearer token is required"
    )
    await assert_refused(response, 401, "unauthorized", message)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Handoff)) == 0


async def test_agent_tokens_do_not_open_bot_calls(client: Client, tokens: Any) -> None:
    response = await client.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=tokens["mina"]
    )

    await assert_refused(response, 401, "unauthorized", "wrong service secret")


async def test_events_of_an_open_handoff_become_messages(
    client: Client, tokens: Any
) -> None:
    handoff_id = await open_handoff(client)

    counts = await post_events(
        client,
        user_event(text="아직 기다리고 있어요", timestamp=1732290001.2),
        {
            "event": "bot",
            "sender_id": "c0ffee",
            "timestamp": 1732290001.5,
            "text": "대기 순번은 1번입니다.",
            "data": {},
            "metadata": {"utter_action": "utter_queue_position"},
        },
    )

    assert counts == {"accepted": 2, "duplicates": 0, "ignored": 0}
    messages = await messages_of(client, handoff_id, tokens["mina"])
    assert [(m["role"], m["text"], m["delivery"]) for m in messages] == [
        ("user", "아직 기다리고 있어요", None),
        ("bot", "대기 순번은 1번입니다.", None),
    ]
    assert messages[0]["handoff_id"] == handoff_id
    assert messages[0]["agent_id"] is None
    assert messages[0]["created_at"].startswith("2024-11-22T15:40:01.2")


async def test_the_same_event_twice_is_stored_once(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handoff_id = await open_handoff(client)
    event = user_event()

    first = await post_events(client, event, event)
    again = await post_events(client, event)

    assert first == {"accepted": 1, "duplicates": 1, "ignored": 0}
    assert again == {"accepted": 0, "duplicates": 1, "ignored": 0}
    assert len(await messages_of(client, handoff_id, tokens["mina"])) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1


async def test_events_outside_an_open_handoff_are_ignored(
    client: Client, tokens: Any
) -> None:
    handoff_id = await open_handoff(client)

    counts = await post_events(
        client,
        user_event(sender_id="someone-else"),
        user_event(text="already in the transcript", timestamp=1732290000.12),
        {
            "event": "action",
            "sender_id": "c0ffee",
            "timestamp": 1732290002.0,
            "name": "action_listen",
        },
        {"event": "slot", "name": "language", "value": "ko"},
        {
            "event": "bot",
            "sender_id": "c0ffee",
            "timestamp": 1732290002.5,
            "text": None,
            "data": {"image": "https://example.com/a.png"},
        },
    )

    assert counts == {"accepted": 0, "duplicates": 0, "ignored": 5}
    assert await messages_of(client, handoff_id, tokens["mina"]) == []


async def test_events_after_the_handoff_closed_are_ignored(
    client: Client, tokens: Any
) -> None:
    handoff_id = await open_handoff(client)
    await client.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"])
    await client.post(f"/api/handoffs/{handoff_id}/close", headers=tokens["mina"])

    counts = await post_events(client, user_event(timestamp=1732299999.0))

    assert counts == {"accepted": 0, "duplicates": 0, "ignored": 1}


async def test_the_echo_of_an_agent_reply_marks_it_delivered(
    client: Client,
    tokens: Any,
    rasa: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_id = await open_handoff(client)
    await client.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"])
    rasa.status = 500
    failed = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "안녕하세요, 상담원 민아입니다."},
        headers=tokens["mina"],
    )
    message_id = (await failed.json())["message_id"]
    echo = {
        "event": "bot",
        "sender_id": "c0ffee",
        "timestamp": 1732290010.0,
        "text": "안녕하세요, 상담원 민아입니다.",
        "metadata": {"tandem_message_id": message_id, "agent": "Mina Kim"},
    }

    counts = await post_events(client, echo)
    again = await post_events(client, echo)

    assert counts == {"accepted": 1, "duplicates": 0, "ignored": 0}
    assert again == {"accepted": 0, "duplicates": 1, "ignored": 0}
    messages = await messages_of(client, handoff_id, tokens["mina"])
    assert [(m["id"], m["role"], m["delivery"]) for m in messages] == [
        (message_id, "agent", "delivered")
    ]
    async with sessions() as session:
        stored = await session.get_one(Message, message_id)
        assert stored.delivery is Delivery.DELIVERED


async def test_an_echo_for_someone_elses_message_is_ignored(
    client: Client, tokens: Any
) -> None:
    handoff_id = await open_handoff(client)
    await client.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"])
    reply = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "hello"},
        headers=tokens["mina"],
    )
    message_id = (await reply.json())["id"]

    counts = await post_events(
        client,
        {
            "event": "bot",
            "sender_id": "intruder",
            "timestamp": 1732290010.0,
            "text": "hello",
            "metadata": {"tandem_message_id": message_id},
        },
        {
            "event": "bot",
            "sender_id": "c0ffee",
            "timestamp": 1732290011.0,
            "text": "hello",
            "metadata": {"tandem_message_id": 123456},
        },
    )

    assert counts == {"accepted": 0, "duplicates": 0, "ignored": 2}


async def test_a_transcript_role_that_is_no_string_is_refused(client: Client) -> None:
    body = handoff_body()
    body["transcript"][0]["role"] = {"name": "user"}

    response = await client.post("/api/rasa/handoffs", json=body, headers=BOT_HEADERS)

    assert response.status == 400
    problem = await response.json()
    assert problem["error"] == "invalid_request"
    assert problem["message"].startswith("transcript[0].role must be one of")
