"""One bad event in a batch: the others are ingested, the bad one is kept aside."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, expect_ready, handoff_body, user_event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.models import Conversation, DeadLetter, Message

Client = TestClient[web.Request, web.Application]

LONG_SENDER_ID = "s" * 300


async def post_batch(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/api/rasa/events", json=body, headers=BOT_HEADERS)
    assert response.status == 202, await response.text()
    return dict(await response.json())


async def open_handoff(client: Client) -> int:
    response = await client.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )
    assert response.status == 201
    return int((await response.json())["id"])


async def dead_letters_in(sessions: async_sessionmaker[AsyncSession]) -> list[Any]:
    async with sessions() as session:
        found = await session.scalars(select(DeadLetter).order_by(DeadLetter.id))
        return list(found)


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def test_one_bad_event_costs_nothing_but_itself(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handoff_id = await open_handoff(client)
    bad = {**user_event(LONG_SENDER_ID, "lost?", 1732290001.3)}
    batch = {
        "events": [
            user_event(text="first", timestamp=1732290001.2),
            bad,
            user_event(text="second", timestamp=1732290001.4),
        ]
    }
    async with client.ws_connect(f"/api/ws?token={token_of(tokens['sora'])}") as feed:
        await expect_ready(feed)

        answer = await post_batch(client, batch)

        frames = [await feed.receive_json(timeout=5) for _ in range(2)]
    reason = "events[1].sender_id must be at most 255 characters"
    assert answer == {
        "accepted": 2,
        "duplicates": 0,
        "ignored": 0,
        "dead_lettered": [{"index": 1, "reason": reason}],
    }
    assert [(f["type"], f["handoff_id"], f["message"]["text"]) for f in frames] == [
        ("message.created", handoff_id, "first"),
        ("message.created", handoff_id, "second"),
    ]
    [letter] = await dead_letters_in(sessions)
    assert letter.reason == reason
    assert letter.sender_id == LONG_SENDER_ID[:255]
    assert json.loads(letter.event) == bad

    again = await post_batch(client, batch)

    assert again["accepted"] == 0 and again["duplicates"] == 2
    assert again["dead_lettered"] == [{"index": 1, "reason": reason}]
    assert len(await dead_letters_in(sessions)) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 2


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("user", "events[0] must be an object"),
        ({"sender_id": "c0ffee"}, "events[0].event must be a non-empty string"),
        (
            {"event": "user", "timestamp": 1.0, "text": "hi"},
            "events[0].sender_id must be a string",
        ),
        (
            {"event": "user", "sender_id": "c0ffee", "text": "hi"},
            "events[0].timestamp must be a number",
        ),
        (
            {"event": "user", "sender_id": "c", "timestamp": 1e300, "text": "hi"},
            "events[0].timestamp must be a Unix time in seconds",
        ),
        (
            {"event": "user", "sender_id": "c", "timestamp": 1.0, "text": ["hi"]},
            "events[0].text must be a string or null",
        ),
        (
            {"event": "user", "sender_id": "c0ffee", "timestamp": 2e9, "text": "a\x00"},
            "events[0].text must not contain a NUL character",
        ),
        (
            {"event": "user", "sender_id": "c0ffee\x00", "timestamp": 2e9},
            "events[0].sender_id must not contain a NUL character",
        ),
        (
            {"event": "bot", "sender_id": "c", "timestamp": 1.0, "metadata": "x"},
            "events[0].metadata must be an object or null",
        ),
        (
            {
                "event": "bot",
                "sender_id": "c",
                "timestamp": 1.0,
                "text": "hi",
                "metadata": {"tandem_message_id": "7"},
            },
            "events[0].metadata.tandem_message_id must be a message id",
        ),
    ],
)
async def test_each_kind_of_bad_event_is_kept_with_its_reason(
    client: Client, sessions: async_sessionmaker[AsyncSession], bad: Any, reason: str
) -> None:
    await open_handoff(client)

    answer = await post_batch(client, {"events": [bad, user_event()]})

    assert answer["accepted"] == 1
    assert answer["dead_lettered"] == [{"index": 0, "reason": reason}]
    assert [letter.reason for letter in await dead_letters_in(sessions)] == [reason]


async def test_a_session_start_with_a_sender_no_column_takes_is_left_out(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    started = {"event": "session_started", "timestamp": 1732290000.0}

    answer = await post_batch(
        client,
        {
            "events": [
                {**started, "sender_id": LONG_SENDER_ID},
                {**started, "sender_id": "nul\x00"},
                user_event(),
            ]
        },
    )

    assert answer["ignored"] == 3
    async with sessions() as session:
        senders = list(await session.scalars(select(Conversation.sender_id)))
    assert senders == ["c0ffee"]


async def test_a_gap_the_broker_reports_is_kept_once(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    batch = {"events": [user_event()], "dropped": 3}

    await post_batch(client, batch)
    await post_batch(client, batch)

    [gap] = await dead_letters_in(sessions)
    assert gap.sender_id is None
    assert gap.reason == (
        "the bot's event buffer was full: 3 events were dropped before this batch"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "body: missing field(s): events"),
        ({"events": "user"}, "events must be a list"),
        ({"events": [], "extra": 1}, "body: unknown field(s): extra"),
        (
            {"events": [], "dropped": -1},
            "dropped must be a whole number of at least 0",
        ),
    ],
)
async def test_only_a_body_that_is_no_batch_is_refused_whole(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    message: str,
) -> None:
    response = await client.post("/api/rasa/events", json=body, headers=BOT_HEADERS)

    assert response.status == 400
    assert await response.json() == {"error": "invalid_request", "message": message}
    assert await dead_letters_in(sessions) == []


async def test_supervisors_page_through_dead_letters_newest_first(
    client: Client, tokens: Any
) -> None:
    huge = {**user_event(LONG_SENDER_ID), "text": "x" * 6000}
    await post_batch(client, {"events": [huge]})
    await post_batch(client, {"events": [{"event": "user", "sender_id": "late"}]})

    first = await client.get("/api/dead-letters?limit=1", headers=tokens["sora"])
    page = await first.json()
    second = await client.get(
        f"/api/dead-letters?limit=1&before={page['next_before']}",
        headers=tokens["sora"],
    )
    last = await second.json()

    assert first.status == 200 and second.status == 200
    [newest] = page["dead_letters"]
    assert newest["sender_id"] == "late"
    assert newest["reason"] == "events[0].timestamp must be a number"
    [oldest] = last["dead_letters"]
    assert last["next_before"] is None
    assert oldest["sender_id"] == "s" * 63 + "…"
    assert len(oldest["event"]) == 4000
    live = await client.get("/api/metrics/live", headers=tokens["sora"])
    assert (await live.json())["dead_letters"] == 2


@pytest.mark.parametrize(
    ("who", "status", "error", "message"),
    [
        ("mina", 403, "forbidden", "only a supervisor may do this"),
        (None, 401, "unauthorized", "an Authorization: Bearer token is required"),
    ],
)
async def test_only_supervisors_see_dead_letters(
    client: Client, tokens: Any, who: str | None, status: int, error: str, message: str
) -> None:
    headers = tokens[who] if who else {}

    response = await client.get("/api/dead-letters", headers=headers)

    assert response.status == status
    assert await response.json() == {"error": error, "message": message}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "limit must be a whole number from 1 to 200"),
        ("limit=201", "limit must be a whole number from 1 to 200"),
        ("before=x", "before must be a whole number from 1 to 2147483647"),
        ("page=2", "unknown query parameter(s): page"),
    ],
)
async def test_dead_letter_paging_is_checked(
    client: Client, tokens: Any, query: str, message: str
) -> None:
    response = await client.get(f"/api/dead-letters?{query}", headers=tokens["sora"])

    assert response.status == 400
    assert await response.json() == {"error": "invalid_request", "message": message}
