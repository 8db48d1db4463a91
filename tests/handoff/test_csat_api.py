"""/api/rasa/csat: ratings of handoffs and of the bot, their comments, every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import Team
from handoff_testing import BOT_HEADERS, handoff_body, resolved_handoff
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.models import Conversation, CsatRating, utcnow

Client = TestClient[web.Request, web.Application]


async def rate(client: Client, body: dict[str, Any], headers: Any = None) -> Any:
    return await client.post(
        "/api/rasa/csat", json=body, headers=BOT_HEADERS if headers is None else headers
    )


async def ratings_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(CsatRating)) or 0
        )


async def test_a_resolved_handoff_is_rated_with_its_agent(
    client: Client, tokens: Any, team: Team
) -> None:
    handoff_id = await resolved_handoff(client, tokens)

    response = await rate(
        client,
        {
            "sender_id": "c0ffee",
            "score": 4,
            "comment": "빨리 해결됐어요",
            "handoff_id": handoff_id,
        },
    )

    assert response.status == 201, await response.text()
    rating = await response.json()
    assert rating["score"] == 4
    assert rating["comment"] == "빨리 해결됐어요"
    assert rating["handoff_id"] == handoff_id
    assert rating["agent_id"] == team.mina.id
    assert rating["created_at"].endswith("+00:00")


async def test_a_rating_of_the_bot_joins_the_latest_conversation(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions.begin() as session:
        conversation = Conversation(sender_id="c0ffee", started_at=utcnow())
        session.add(conversation)

    response = await rate(
        client, {"sender_id": "c0ffee", "score": 5, "handoff_id": None}
    )
    without_key = await rate(client, {"sender_id": "beef", "score": 3})

    assert response.status == 201
    assert without_key.status == 201
    assert (await response.json())["agent_id"] is None
    async with sessions() as session:
        stored = await session.scalar(
            select(CsatRating).where(CsatRating.sender_id == "c0ffee")
        )
        assert stored is not None
        assert stored.conversation_id == conversation.id
        assert stored.handoff_id is None


@pytest.mark.parametrize(
    "body",
    [
        {"sender_id": "c0ffee", "score": 0},
        {"sender_id": "c0ffee", "score": 6},
        {"sender_id": "c0ffee", "score": 4.5},
        {"sender_id": "c0ffee", "score": "4"},
        {"sender_id": "c0ffee", "score": True},
        {"sender_id": "c0ffee", "score": None},
        {"sender_id": "", "score": 3},
        {"sender_id": 7, "score": 3},
        {"score": 3},
        {"sender_id": "c0ffee"},
        {"sender_id": "c0ffee", "score": 3, "comment": "x" * 1001},
        {"sender_id": "c0ffee", "score": 3, "comment": 5},
        {"sender_id": "c0ffee", "score": 3, "handoff_id": "7"},
        {"sender_id": "c0ffee", "score": 3, "handoff_id": 0},
        {"sender_id": "c0ffee", "score": 3, "stars": 5},
    ],
    ids=[
        "score-0",
        "score-6",
        "score-fraction",
        "score-string",
        "score-bool",
        "score-null",
        "sender-empty",
        "sender-number",
        "sender-missing",
        "score-missing",
        "comment-too-long",
        "comment-number",
        "handoff-string",
        "handoff-zero",
        "unknown-field",
    ],
)
async def test_invalid_ratings_are_refused(
    client: Client, sessions: async_sessionmaker[AsyncSession], body: dict[str, Any]
) -> None:
    response = await rate(client, body)

    assert response.status == 400
    assert (await response.json())["error"] == "invalid_request"
    assert await ratings_count(sessions) == 0


async def test_a_body_that_is_not_json_is_refused(client: Client) -> None:
    response = await client.post("/api/rasa/csat", data=b"score=5", headers=BOT_HEADERS)

    assert response.status == 400
    assert (await response.json())["error"] == "malformed_json"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-secret"}],
    ids=["missing", "wrong"],
)
async def test_the_shared_secret_is_required(
    client: Client, sessions: async_sessionmaker[AsyncSession], headers: Any
) -> None:
    response = await rate(client, {"sender_id": "c0ffee", "score": 5}, headers)

    assert response.status == 401
    assert (await response.json())["error"] == "unauthorized"
    assert await ratings_count(sessions) == 0


@pytest.mark.parametrize("handoff_id", [999, 2**31, 2**63])
async def test_an_unknown_handoff_is_not_found(client: Client, handoff_id: int) -> None:
    response = await rate(
        client, {"sender_id": "c0ffee", "score": 5, "handoff_id": handoff_id}
    )

    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


async def test_a_handoff_that_is_not_resolved_cannot_be_rated(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body(), headers=BOT_HEADERS
    )
    handoff_id = (await created.json())["id"]

    response = await rate(
        client, {"sender_id": "c0ffee", "score": 5, "handoff_id": handoff_id}
    )

    assert response.status == 409
    body = await response.json()
    assert body["error"] == "not_resolved"
    assert body["handoff_status"] == "queued"
    assert await ratings_count(sessions) == 0


async def test_a_handoff_is_rated_once(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handoff_id = await resolved_handoff(client, tokens)
    body = {"sender_id": "c0ffee", "score": 5, "handoff_id": handoff_id}
    assert (await rate(client, body)).status == 201

    again = await rate(client, {**body, "score": 1})

    assert again.status == 409
    assert (await again.json())["error"] == "already_rated"
    assert await ratings_count(sessions) == 1


async def test_another_customers_handoff_cannot_be_rated(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handoff_id = await resolved_handoff(client, tokens)

    response = await rate(
        client, {"sender_id": "someone-else", "score": 1, "handoff_id": handoff_id}
    )

    assert response.status == 403
    assert (await response.json())["error"] == "forbidden"
    assert await ratings_count(sessions) == 0


async def test_ratings_count_in_the_supervisors_numbers(
    client: Client, tokens: Any
) -> None:
    handoff_id = await resolved_handoff(client, tokens)
    await rate(client, {"sender_id": "c0ffee", "score": 5, "handoff_id": handoff_id})
    await rate(client, {"sender_id": "beef", "score": 2})

    response = await client.get("/api/metrics", headers=tokens["sora"])

    totals = (await response.json())["totals"]
    assert totals["csat_agent_count"] == 1
    assert totals["csat_agent_average"] == 5.0
    assert totals["csat_bot_count"] == 1
    assert totals["csat_bot_average"] == 2.0
    assert totals["csat_satisfied_rate"] == 0.5


async def comment(
    client: Client, rating_id: int, body: Any, headers: Any = None
) -> Any:
    return await client.patch(
        f"/api/rasa/csat/{rating_id}",
        json=body,
        headers=BOT_HEADERS if headers is None else headers,
    )


async def stored_comment(
    sessions: async_sessionmaker[AsyncSession], rating_id: int
) -> str | None:
    async with sessions() as session:
        rating = await session.get(CsatRating, rating_id)
        assert rating is not None
        return rating.comment


async def test_the_customer_adds_a_comment_after_the_score(
    client: Client, tokens: Any, team: Team, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handoff_id = await resolved_handoff(client, tokens)
    rated = await rate(
        client, {"sender_id": "c0ffee", "score": 2, "handoff_id": handoff_id}
    )
    rating_id = (await rated.json())["id"]

    response = await comment(
        client, rating_id, {"sender_id": "c0ffee", "comment": "  너무 오래 기다렸어요 "}
    )

    assert response.status == 200, await response.text()
    rating = await response.json()
    assert (rating["id"], rating["score"]) == (rating_id, 2)
    assert rating["comment"] == "너무 오래 기다렸어요"
    assert rating["agent_id"] == team.mina.id
    assert await stored_comment(sessions, rating_id) == "너무 오래 기다렸어요"


async def test_a_rating_takes_one_comment(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rated = await rate(client, {"sender_id": "c0ffee", "score": 5, "comment": "fast"})
    rating_id = (await rated.json())["id"]

    again = await comment(
        client, rating_id, {"sender_id": "c0ffee", "comment": "and friendly"}
    )

    assert again.status == 409
    assert (await again.json())["error"] == "comment_exists"
    assert await stored_comment(sessions, rating_id) == "fast"


async def test_another_customers_rating_takes_no_comment(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rated = await rate(client, {"sender_id": "c0ffee", "score": 5})
    rating_id = (await rated.json())["id"]

    response = await comment(
        client, rating_id, {"sender_id": "someone-else", "comment": "terrible"}
    )

    assert response.status == 403
    assert (await response.json())["error"] == "forbidden"
    assert await stored_comment(sessions, rating_id) is None


@pytest.mark.parametrize("rating_id", [999, 2**31, 2**63])
async def test_an_unknown_rating_takes_no_comment(
    client: Client, rating_id: int
) -> None:
    response = await comment(
        client, rating_id, {"sender_id": "c0ffee", "comment": "hello"}
    )

    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


@pytest.mark.parametrize(
    "body",
    [
        {"sender_id": "c0ffee", "comment": "   "},
        {"sender_id": "c0ffee", "comment": ""},
        {"sender_id": "c0ffee", "comment": None},
        {"sender_id": "c0ffee", "comment": 5},
        {"sender_id": "c0ffee", "comment": "x" * 1001},
        {"sender_id": "c0ffee"},
        {"comment": "good"},
        {"sender_id": "", "comment": "good"},
        {"sender_id": "c0ffee", "comment": "good", "score": 1},
        ["c0ffee", "good"],
    ],
    ids=[
        "blank",
        "empty",
        "null",
        "number",
        "too-long",
        "comment-missing",
        "sender-missing",
        "sender-empty",
        "unknown-field",
        "not-an-object",
    ],
)
async def test_invalid_comments_are_refused(
    client: Client, sessions: async_sessionmaker[AsyncSession], body: Any
) -> None:
    rated = await rate(client, {"sender_id": "c0ffee", "score": 4})
    rating_id = (await rated.json())["id"]

    response = await comment(client, rating_id, body)

    assert response.status == 400
    assert (await response.json())["error"] == "invalid_request"
    assert await stored_comment(sessions, rating_id) is None


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-secret"}],
    ids=["missing", "wrong"],
)
async def test_a_comment_needs_the_shared_secret(
    client: Client, sessions: async_sessionmaker[AsyncSession], headers: Any
) -> None:
    rated = await rate(client, {"sender_id": "c0ffee", "score": 4})
    rating_id = (await rated.json())["id"]

    response = await comment(
        client, rating_id, {"sender_id": "c0ffee", "comment": "hi"}, headers
    )

    assert response.status == 401
    assert await stored_comment(sessions, rating_id) is None


async def test_a_comment_that_is_not_json_is_refused(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rated = await rate(client, {"sender_id": "c0ffee", "score": 4})
    rating_id = (await rated.json())["id"]

    response = await client.patch(
        f"/api/rasa/csat/{rating_id}", data=b"comment=hi", headers=BOT_HEADERS
    )

    assert response.status == 400
    assert (await response.json())["error"] == "malformed_json"
    assert await stored_comment(sessions, rating_id) is None


async def test_an_oversized_comment_body_is_refused(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rated = await rate(client, {"sender_id": "c0ffee", "score": 4})
    rating_id = (await rated.json())["id"]

    response = await comment(
        client, rating_id, {"sender_id": "c0ffee", "comment": "가" * 40_000}
    )

    assert response.status == 413
    assert await stored_comment(sessions, rating_id) is None
