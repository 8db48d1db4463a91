"""Limits on what one customer may ask for: handoffs, ratings of the bot; and the
refusals in the supervisors' numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, handoff_body
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_csat_api import rate, resolved_handoff

from handoff.app import create_app
from handoff.settings import ConfigurationError, Settings
from handoff.storage.models import Conversation, Handoff, Refusal, utcnow

Client = TestClient[web.Request, web.Application]

TICKET = {"description": "인터넷이 끊겨요"}
SECRETS = {"TANDEM_SERVICE_SECRET": "s", "TANDEM_CHAT_SESSION_SECRET": "c"}


@pytest.fixture
async def limited(aiohttp_client: Any, settings: Settings, engine: Any) -> Client:
    """The service with two handoffs an hour per customer."""
    limits = replace(settings, handoffs_per_customer=2, handoff_window_seconds=3600)
    client: Client = await aiohttp_client(create_app(limits, run_sweeper=False))
    return client


async def open_ticket(client: Client, sender_id: str) -> Any:
    return await client.post(
        "/api/rasa/handoffs",
        json=handoff_body(sender_id, mode="ticket", ticket=TICKET),
        headers=BOT_HEADERS,
    )


async def refusals(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Refusal.kind, Refusal.sender_id).order_by(Refusal.id)
        )
        return [(row.kind, row.sender_id) for row in rows]


async def handoff_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count(Handoff.id))) or 0)


async def test_handoffs_beyond_the_limit_are_refused_with_the_reason(
    limited: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(2):
        created = await open_ticket(limited, "flood")
        assert created.status == 201, await created.text()

    refused = await open_ticket(limited, "flood")

    assert refused.status == 429
    assert await refused.json() == {
        "error": "handoff_limit",
        "message": "this customer opened 2 handoffs in the last 1 hour(s); "
        "try again later",
        "retry_after_seconds": int(refused.headers["Retry-After"]),
    }
    assert 3500 < int(refused.headers["Retry-After"]) <= 3600
    assert await handoff_count(sessions) == 2
    assert await refusals(sessions) == [("handoffs", "flood")]
    # Another customer is not held back by this one.
    assert (await open_ticket(limited, "someone-else")).status == 201


async def test_asking_again_while_a_handoff_is_open_is_never_refused(
    limited: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert (await open_ticket(limited, "c0ffee")).status == 201
    queued = await limited.post(
        "/api/rasa/handoffs", json=handoff_body("c0ffee"), headers=BOT_HEADERS
    )
    assert queued.status == 201, await queued.text()
    again = await limited.post(
        "/api/rasa/handoffs", json=handoff_body("c0ffee"), headers=BOT_HEADERS
    )
    assert again.status == 200
    assert (await again.json())["id"] == (await queued.json())["id"]
    assert await refusals(sessions) == []


async def test_the_limit_lifts_when_the_handoffs_leave_the_window(
    limited: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(2):
        assert (await open_ticket(limited, "flood")).status == 201
    assert (await open_ticket(limited, "flood")).status == 429
    async with sessions.begin() as session:
        await session.execute(
            update(Handoff).values(created_at=utcnow() - timedelta(hours=1))
        )
    assert (await open_ticket(limited, "flood")).status == 201


async def test_a_conversation_rates_the_bot_once(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions.begin() as session:
        session.add(Conversation(sender_id="c0ffee", started_at=utcnow()))
    first = await rate(client, {"sender_id": "c0ffee", "score": 5})
    assert first.status == 201, await first.text()

    again = await rate(client, {"sender_id": "c0ffee", "score": 5})

    assert again.status == 409
    assert await again.json() == {
        "error": "rating_limit",
        "message": "this conversation has rated the bot 1 time(s), the most it may",
    }
    assert await refusals(sessions) == [("ratings", "c0ffee")]
    # The customer's next conversation may rate the bot again.
    async with sessions.begin() as session:
        session.add(
            Conversation(sender_id="c0ffee", started_at=utcnow() + timedelta(seconds=1))
        )
    assert (await rate(client, {"sender_id": "c0ffee", "score": 4})).status == 201


async def test_a_rating_of_a_handoff_is_not_held_back_by_the_bots(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    assert (await rate(client, {"sender_id": "c0ffee", "score": 3})).status == 201
    handoff_id = await resolved_handoff(client, tokens)
    rated = await rate(
        client, {"sender_id": "c0ffee", "score": 5, "handoff_id": handoff_id}
    )
    assert rated.status == 201, await rated.text()
    twice = await rate(
        client, {"sender_id": "c0ffee", "score": 5, "handoff_id": handoff_id}
    )
    assert (twice.status, (await twice.json())["error"]) == (409, "already_rated")
    assert await refusals(sessions) == [("ratings", "c0ffee")]


async def test_the_bots_refusals_are_counted(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        "/api/rasa/refusals",
        json={"sender_id": "c0ffee", "kind": "verification_codes"},
        headers=BOT_HEADERS,
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    assert (body["kind"], body["sender_id"]) == ("verification_codes", "c0ffee")
    assert await refusals(sessions) == [("verification_codes", "c0ffee")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"sender_id": "c0ffee", "kind": "handoffs"},
            "kind must be one of: phone_numbers, verification_codes",
        ),
        (
            {"sender_id": "", "kind": "phone_numbers"},
            "sender_id must be a non-empty string",
        ),
        ({"kind": "phone_numbers"}, "body: missing field(s): sender_id"),
    ],
)
async def test_a_bad_refusal_report_is_refused_and_counts_nothing(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    body: dict[str, Any],
    message: str,
) -> None:
    response = await client.post("/api/rasa/refusals", json=body, headers=BOT_HEADERS)
    assert response.status == 400
    assert await response.json() == {"error": "invalid_request", "message": message}
    assert await refusals(sessions) == []


async def test_only_the_bot_reports_refusals(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        "/api/rasa/refusals", json={"sender_id": "c0ffee", "kind": "phone_numbers"}
    )
    assert response.status == 401
    assert (await response.json())["error"] == "unauthorized"
    assert await refusals(sessions) == []


async def test_refusals_are_in_the_numbers_by_kind(
    limited: Client, tokens: Any
) -> None:
    for _ in range(3):
        await open_ticket(limited, "flood")
    for kind in ["phone_numbers", "phone_numbers", "verification_codes"]:
        await limited.post(
            "/api/rasa/refusals",
            json={"sender_id": "c0ffee", "kind": kind},
            headers=BOT_HEADERS,
        )
    await rate(limited, {"sender_id": "c0ffee", "score": 5})
    await rate(limited, {"sender_id": "c0ffee", "score": 5})

    response = await limited.get("/api/metrics", headers=tokens["sora"])

    assert response.status == 200, await response.text()
    assert (await response.json())["refusals"] == {
        "handoffs": 1,
        "ratings": 1,
        "chat_sessions": 0,
        "handoffs_per_address": 0,
        "verification_codes": 1,
        "phone_numbers": 2,
    }


async def test_no_refusals_are_zeros(client: Client, tokens: Any) -> None:
    response = await client.get("/api/metrics", headers=tokens["sora"])
    assert (await response.json())["refusals"] == {
        "handoffs": 0,
        "ratings": 0,
        "chat_sessions": 0,
        "handoffs_per_address": 0,
        "verification_codes": 0,
        "phone_numbers": 0,
    }


def test_the_limits_have_defaults() -> None:
    defaults = Settings.from_env(SECRETS)
    assert (
        defaults.handoffs_per_customer,
        defaults.handoff_window_seconds,
        defaults.bot_ratings_per_conversation,
    ) == (5, 3600, 1)


def test_a_limit_of_zero_is_refused() -> None:
    with pytest.raises(
        ConfigurationError, match="TANDEM_HANDOFFS_PER_CUSTOMER must be positive"
    ):
        Settings.from_env({**SECRETS, "TANDEM_HANDOFFS_PER_CUSTOMER": "0"})
