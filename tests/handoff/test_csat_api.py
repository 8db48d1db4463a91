"""/api/rasa/csat: ratings of handoffs and of the bot, their comments, every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import Team
from handoff_testing import BOT_HEADERS, assert_refused, handoff_body, resolved_handoff
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


SCORE_RANGE = "score must be a whole number from 1 to 5"
SENDER = "sender_id must be a non-empty string"
HANDOFF_ID = "handoff_id must be a handoff id or null"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"sender_id": "c0ffee", "score": 0}, SCORE_RANGE, id="score-0"),
        pytest.param({"sender_id": "c0ffee", "score": 6}, SCORE_RANGE, id="score-6"),
        pytest.param(
            {"sender_id": "c0ffee", "score": 4.5}, SCORE_RANGE, id="score-fraction"
        ),
        pytest.param(
            {"sender_id": "c0ffee", "score": "4"}, SCORE_RANGE, id="score-string"
        ),
        pytest.param(
            {"sender_id": "c0ffee", "score": True}, SCORE_RANGE, id="score-bool"
        ),
        pytest.param(
            {"sender_id": "c0ffee", "score": None}, SCORE_RANGE, id="score-null"
        ),
        pytest.param({"sender_id": "", "score": 3}, SENDER, id="sender-empty"),
        pytest.param({"sender_id": 7, "score": 3}, SENDER, id="sender-number"),
        pytest.param({"score": 3}, "missing field(s): sender_id", id="sender-missing"),
        pytest.param(
            {"sender_id": "c0ffee"}, "missing field(s): score", id="score-missing"
        ),
        pytest.param(
            {"sender_id": "c0ffee", "score": 3, "comment": "x" * 1001},
            "comment must be at most 1000 characters",
            id="comment-too-long",
        ),
        pytest.param(
            {"sender_id": "c0ffee", "score": 3, "comment": 5},
            "comment must be a string or null",
            id="comment-number",
        ),
        pytest.param(
            {"sender_id": "c0ffee", "score": 3, "handoff_id": "7"},
            HANDOFF_ID,
            id="handoff-string",
        ),
        pytest.param(
            {"sender_id": "c0ffee", "score": 3, "handoff_id": 0},
            HANDOFF_ID,
            id="handoff-zero",
        ),
        pytest.param(
            {"sender_id": "c0ffee", "score": 3, "stars": 5},
            "unknown field(s): stars",
            id="unknown-field",
        ),
    ],
)
async def test_invalid_ratings_are_refused(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    message: str,
) -> None:
    response = await rate(client, body)

    await assert_refused(response, 400, "invalid_request", message)
    assert await ratings_count(sessions) == 0


async def test_a_body_that_is_not_json_is_refused(client: Client) -> None:
    response = await client.post("/api/rasa/csat", data=b"score=5", headers=BOT_HEADERS)

    await assert_refused(response, 400, "malformed_json", "the body is not valid JSON")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-secret"}],
    ids=["missing", "wrong"],
)
async def test_the_shared_secret_is_required(
    client: Client, sessions: async_sessionmaker[AsyncSession], headers: Any
) -> None:
    response = await rate(client, {"sender_id": "c0ffee", "score": 5}, headers)

    message = "wrong service secret" if headers else "Bearer token is required"
    await assert_refused(response, 401, "unauthorized", message)
    assert await ratings_count(sessions) == 0


@pytest.mark.parametrize("handoff_id", [999, 2**31, 2**63])
async def test_an_unknown_handoff_is_not_found(client: Client, handoff_id: int) -> None:
    response = await rate(
        client, {"sender_id": "c0ffee", "score": 5, "handoff_id": handoff_id}
    )

    await assert_refused(response, 404, "not_found", "does not exist")


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
    assert "only a resolved handoff can be rated" in body["message"]
    assert body["handoff_status"] == "queued"
    assert await ratings_count(sessions) == 0


async def test_a_handoff_is_rated_once(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handoff_id = await resolved_handoff(client, tokens)
    body = {"sender_id": "c0ffee", "score": 5, "handoff_id": handoff_id}
    assert (await rate(client, body)).status == 201

    again = await rate(client, {**body, "score": 1})

    await assert_refused(again, 409, "already_rated", "is already rated")
    assert await ratings_count(sessions) == 1


async def test_another_customers_handoff_cannot_be_rated(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handoff_id = await resolved_handoff(client, tokens)

    response = await rate(
        client, {"sender_id": "someone-else", "score": 1, "handoff_id": handoff_id}
    )

    await assert_refused(response, 403, "forbidden", "is another customer's")
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

    await assert_refused(again, 409, "comment_exists", "has a comment already")
    assert await stored_comment(sessions, rating_id) == "fast"


async def test_another_customers_rating_takes_no_comment(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rated = await rate(client, {"sender_id": "c0ffee", "score": 5})
    rating_id = (await rated.json())["id"]

    response = await comment(
        client, rating_id, {"sender_id": "someone-else", "comment": "terrible"}
    )

    await assert_refused(response, 403, "forbidden", "is another customer's")
    assert await stored_comment(sessions, rating_id) is None


@pytest.mark.parametrize("rating_id", [999, 2**31, 2**63])
async def test_an_unknown_rating_takes_no_comment(
    client: Client, rating_id: int
) -> None:
    response = await comment(
        client, rating_id, {"sender_id": "c0ffee", "comment": "hello"}
    )

    await assert_refused(response, 404, "not_found", "does not exist")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"sender_id": "c0ffee", "comment": "   "},
            "comment must not be empty",
            id="blank",
        ),
        pytest.param(
            {"sender_id": "c0ffee", "comment": ""},
            "comment must not be empty",
            id="empty",
        ),
        pytest.param(
            {"sender_id": "c0ffee", "comment": None},
            "comment must be a string",
            id="null",
        ),
        pytest.param(
            {"sender_id": "c0ffee", "comment": 5},
            "comment must be a string",
            id="number",
        ),
        pytest.param(
            {"sender_id": "c0ffee", "comment": "x" * 1001},
            "comment must be at most 1000 characters",
            id="too-long",
        ),
        pytest.param(
            {"sender_id": "c0ffee"}, "missing field(s): comment", id="comment-missing"
        ),
        pytest.param(
            {"comment": "good"}, "missing field(s): sender_id", id="sender-missing"
        ),
        pytest.param({"sender_id": "", "comment": "good"}, SENDER, id="sender-empty"),
        pytest.param(
            {"sender_id": "c0ffee", "comment": "good", "score": 1},
            "unknown field(s): score",
            id="unknown-field",
        ),
        pytest.param(
            ["c0ffee", "good"], "the body must be a JSON object", id="not-an-object"
        ),
    ],
)
async def test_invalid_comments_are_refused(
    client: Client, sessions: async_sessionmaker[AsyncSession], body: Any, message: str
) -> None:
    rated = await rate(client, {"sender_id": "c0ffee", "score": 4})
    rating_id = (await rated.json())["id"]

    response = await comment(client, rating_id, body)

    await assert_refused(response, 400, "invalid_request", message)
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

    message = "wrong service secret" if headers else "Bearer token is required"
    await assert_refused(response, 401, "unauthorized", message)
    assert await stored_comment(sessions, rating_id) is None


async def test_a_comment_that_is_not_json_is_refused(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rated = await rate(client, {"sender_id": "c0ffee", "score": 4})
    rating_id = (await rated.json())["id"]

    response = await client.patch(
        f"/api/rasa/csat/{rating_id}", data=b"comment=hi", headers=BOT_HEADERS
    )

    await assert_refused(response, 400, "malformed_json", "the body is not valid JSON")
    assert await stored_comment(sessions, rating_id) is None


async def test_an_oversized_comment_body_is_refused(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rated = await rate(client, {"sender_id": "c0ffee", "score": 4})
    rating_id = (await rated.json())["id"]

    response = await comment(
        client, rating_id, {"sender_id": "c0ffee", "comment": "가" * 40_000}
    )

    await assert_refused(
        response, 413, "too_large", "request body is larger than 64 KiB"
    )
    assert await stored_comment(sessions, rating_id) is None
