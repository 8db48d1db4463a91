"""Conversations recorded from Rasa's event stream, the base of containment."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, handoff_body, user_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.models import Conversation

Client = TestClient[web.Request, web.Application]


def session_started(sender_id: str, timestamp: float) -> dict[str, Any]:
    return {"event": "session_started", "sender_id": sender_id, "timestamp": timestamp}


def said(
    sender_id: str, timestamp: float, text: str, language: str | None
) -> dict[str, Any]:
    event = user_event(sender_id, text, timestamp)
    event["parse_data"] = {"language": language} if language else {}
    return event


async def post_events(client: Client, *events: dict[str, Any]) -> None:
    response = await client.post(
        "/api/rasa/events", json={"events": list(events)}, headers=BOT_HEADERS
    )
    assert response.status == 202, await response.text()


async def conversations(
    sessions: async_sessionmaker[AsyncSession],
) -> list[Conversation]:
    async with sessions() as session:
        return list(
            (
                await session.scalars(
                    select(Conversation).order_by(
                        Conversation.sender_id, Conversation.started_at
                    )
                )
            ).all()
        )


async def test_a_session_and_its_first_message_make_a_conversation(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    start = 1732290000.0
    await post_events(
        client,
        session_started("c0ffee", start),
        said("c0ffee", start + 2, "1234", None),
        said("c0ffee", start + 5, "요금 알려주세요", "ko"),
    )
    # A later batch tells the language the first message could not.
    await post_events(client, said("c0ffee", start + 9, "고마워요", "ko"))

    (conversation,) = await conversations(sessions)
    assert conversation.sender_id == "c0ffee"
    assert conversation.started_at.timestamp() == start
    assert conversation.first_message_at is not None
    assert conversation.first_message_at.timestamp() == start + 2
    assert conversation.channel == "socketio"
    assert conversation.language == "ko"


async def test_redelivered_events_change_nothing(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    start = 1732290000.0
    batch = [session_started("c0ffee", start), said("c0ffee", start + 1, "hi", "en")]

    await post_events(client, *batch)
    await post_events(client, *batch)

    (conversation,) = await conversations(sessions)
    assert conversation.first_message_at is not None
    assert conversation.first_message_at.timestamp() == start + 1


async def test_each_session_is_its_own_conversation(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    start = 1732290000.0
    await post_events(
        client,
        session_started("c0ffee", start),
        said("c0ffee", start + 1, "hi", "en"),
        session_started("c0ffee", start + 3600),
        said("c0ffee", start + 3601, "안녕하세요", "ko"),
        session_started("silent", start),
    )

    found = await conversations(sessions)
    assert [(c.sender_id, c.language) for c in found] == [
        ("c0ffee", "en"),
        ("c0ffee", "ko"),
        ("silent", None),
    ]
    assert found[2].first_message_at is None


async def test_a_message_without_a_session_start_opens_a_conversation(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await post_events(client, said("c0ffee", 1732290000.0, "hello", "en"))

    (conversation,) = await conversations(sessions)
    assert conversation.started_at == conversation.first_message_at


async def test_malformed_session_events_are_left_alone(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await post_events(
        client,
        {"event": "session_started", "sender_id": "c0ffee"},
        {"event": "session_started", "sender_id": 5, "timestamp": 1.0},
        {"event": "session_started", "sender_id": "x", "timestamp": "soon"},
    )

    assert await conversations(sessions) == []


async def test_containment_counts_handed_off_conversations(
    client: Client, tokens: Any
) -> None:
    now = time.time()
    await post_events(
        client,
        session_started("alone", now - 60),
        said("alone", now - 59, "요금 얼마예요?", "ko"),
        session_started("c0ffee", now - 30),
        said("c0ffee", now - 29, "상담원 연결해 주세요", "ko"),
    )
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body("c0ffee"), headers=BOT_HEADERS
    )
    assert created.status == 201

    response = await client.get("/api/metrics?bucket=hour", headers=tokens["sora"])

    totals = (await response.json())["totals"]
    assert totals["conversations"] == 2
    assert totals["handed_off"] == 1
    assert totals["contained"] == 1
    assert totals["containment_rate"] == 0.5
    assert totals["handoffs"] == 1


async def test_a_new_session_is_recorded_after_a_complete_one(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    start = 1732290000.0
    await post_events(
        client, session_started("c0ffee", start), said("c0ffee", start + 1, "hi", "en")
    )
    # Known complete now: later messages of the conversation are not looked up.
    await post_events(client, said("c0ffee", start + 2, "still there?", "en"))
    await post_events(
        client,
        session_started("c0ffee", start + 7200),
        said("c0ffee", start + 7201, "다시 왔어요", "ko"),
    )

    found = await conversations(sessions)
    assert [(c.language, c.first_message_at is not None) for c in found] == [
        ("en", True),
        ("ko", True),
    ]
    assert found[1].first_message_at is not None
    assert found[1].first_message_at.timestamp() == start + 7201
