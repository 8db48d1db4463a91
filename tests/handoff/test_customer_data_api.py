"""A customer's data: exported and erased by supervisors only, and transcripts purged
by the sweeper once older than the retention period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, handoff_body, resolved_handoff
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.app_keys import SWEEPER
from handoff.settings import Settings
from handoff.storage.models import CsatRating, Handoff, Message, utcnow

Client = TestClient[web.Request, web.Application]


async def rated_customer(client: Client, tokens: Any, sender_id: str) -> int:
    handoff_id = await resolved_handoff(client, tokens, sender_id)
    rated = await client.post(
        "/api/rasa/csat",
        json={
            "sender_id": sender_id,
            "handoff_id": handoff_id,
            "score": 4,
            "comment": "빨랐어요",
        },
        headers=BOT_HEADERS,
    )
    assert rated.status == 201, await rated.text()
    return handoff_id


async def count(sessions: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_supervisor_exports_a_customers_data(
    client: Client, tokens: Any
) -> None:
    handoff_id = await rated_customer(client, tokens, "c0ffee")
    await rated_customer(client, tokens, "someone-else")

    response = await client.get("/api/customers/c0ffee/data", headers=tokens["sora"])

    assert response.status == 200, await response.text()
    data = await response.json()
    assert data["sender_id"] == "c0ffee"
    assert [handoff["id"] for handoff in data["handoffs"]] == [handoff_id]
    handoff = data["handoffs"][0]
    assert handoff["status"] == "resolved"
    assert handoff["context"]["transcript"][0]["text"] == "상담원 연결해 주세요"
    assert [(r["handoff_id"], r["score"], r["comment"]) for r in data["ratings"]] == [
        (handoff_id, 4, "빨랐어요")
    ]


async def test_a_supervisor_erases_a_customers_data(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    erased = await rated_customer(client, tokens, "c0ffee")
    await rated_customer(client, tokens, "someone-else")
    async with sessions.begin() as session:
        session.add(Message(handoff_id=erased, role="user", text="안녕하세요"))

    response = await client.delete("/api/customers/c0ffee/data", headers=tokens["sora"])

    assert response.status == 200, await response.text()
    assert await response.json() == {
        "sender_id": "c0ffee",
        "handoffs": 1,
        "messages": 1,
        "ratings": 1,
        "attachments": 0,
    }
    async with sessions() as session:
        left = (await session.scalars(select(Handoff.sender_id))).all()
    assert left == ["someone-else"]
    assert await count(sessions, CsatRating) == 1
    gone = await client.get("/api/customers/c0ffee/data", headers=tokens["sora"])
    assert gone.status == 404
    assert await gone.json() == {
        "error": "not_found",
        "message": "nothing is stored about customer c0ffee",
    }
    again = await client.delete("/api/customers/c0ffee/data", headers=tokens["sora"])
    assert await again.json() == {
        "sender_id": "c0ffee",
        "handoffs": 0,
        "messages": 0,
        "ratings": 0,
        "attachments": 0,
    }


async def test_agents_may_neither_export_nor_erase(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await rated_customer(client, tokens, "c0ffee")

    export = await client.get("/api/customers/c0ffee/data", headers=tokens["mina"])
    erase = await client.delete("/api/customers/c0ffee/data", headers=tokens["mina"])

    for response in (export, erase):
        assert response.status == 403
        assert await response.json() == {
            "error": "forbidden",
            "message": "only a supervisor may do this",
        }
    assert await count(sessions, Handoff) == 1
    assert (await client.get("/api/customers/c0ffee/data")).status == 401


async def test_an_open_handoff_is_not_erased(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body("c0ffee"), headers=BOT_HEADERS
    )
    assert created.status == 201

    response = await client.delete("/api/customers/c0ffee/data", headers=tokens["sora"])

    assert response.status == 409
    assert await response.json() == {
        "error": "invalid_transition",
        "message": "the customer has an open handoff; close it before erasing",
    }
    assert await count(sessions, Handoff) == 1


async def test_the_sweeper_purges_transcripts_older_than_the_retention(
    client: Client,
    tokens: Any,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    handoff_id = await resolved_handoff(client, tokens, "c0ffee")
    async with sessions.begin() as session:
        session.add(Message(handoff_id=handoff_id, role="user", text="안녕하세요"))
    retention = timedelta(days=settings.transcript_retention_days)

    early = await client.app[SWEEPER].sweep(utcnow() + retention - timedelta(hours=1))
    late = await client.app[SWEEPER].sweep(utcnow() + retention + timedelta(hours=1))
    soon_after = await client.app[SWEEPER].sweep(
        utcnow() + retention + timedelta(hours=1, minutes=5)
    )

    assert early.purged is not None
    assert (early.purged.messages, early.purged.transcripts) == (0, 0)
    assert late.purged is not None
    assert (late.purged.messages, late.purged.transcripts) == (1, 1)
    # Hourly: the sweep five minutes later does not purge again.
    assert soon_after.purged is None
    assert await count(sessions, Message) == 0
    async with sessions() as session:
        handoff = await session.get_one(Handoff, handoff_id)
    assert handoff.context["transcript"] == []
    assert handoff.transcript_until is None
    assert handoff.context["reason"] == "human_requested"
