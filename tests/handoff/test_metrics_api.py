"""Who may see the numbers, how they are asked for, and the live queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import Team
from handoff_testing import BOT_HEADERS, assert_refused, handoff_body
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.api.views.api_document import openapi_document
from handoff.storage.models import Agent, Handoff, utcnow
from handoff.vocabulary import AgentStatus

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize("path", ["/api/metrics", "/api/metrics/live"])
async def test_agents_may_not_see_the_numbers(
    client: Client, tokens: Any, path: str
) -> None:
    response = await client.get(path, headers=tokens["mina"])

    await assert_refused(response, 403, "forbidden", "only a supervisor may do this")


@pytest.mark.parametrize("path", ["/api/metrics", "/api/metrics/live"])
async def test_the_numbers_need_a_token(client: Client, path: str) -> None:
    missing = await client.get(path)
    wrong = await client.get(path, headers={"Authorization": "Bearer nope"})

    await assert_refused(
        missing, 401, "unauthorized", "an Authorization: Bearer token is required"
    )
    await assert_refused(
        wrong, 401, "unauthorized", "the token is unknown or has expired"
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("bucket=week", "bucket must be day or hour"),
        ("from=2026-11-21&to=2026-11-20", "from must not be after to"),
        ("from=2026-13-01&to=2026-12-01", "from must be a date as YYYY-MM-DD"),
        ("from=20261101&to=2026-11-02", "from must be a date as YYYY-MM-DD"),
        ("to=yesterday", "to must be a date as YYYY-MM-DD"),
        (
            "from=2026-01-01&to=2026-02-15&bucket=hour",
            "a report by hour covers at most 31 days, not 46",
        ),
        (
            "from=2025-01-01&to=2026-02-15",
            "a report by day covers at most 366 days, not 411",
        ),
        ("format=xml", "format must be json or csv"),
        ("table=agents", "table applies to the CSV export only"),
        ("format=csv&table=moods", "table must be one of: buckets, reasons, "),
        ("days=7", "unknown query parameter(s): days"),
    ],
)
async def test_bad_report_parameters_are_refused(
    client: Client, tokens: Any, query: str, message: str
) -> None:
    response = await client.get(f"/api/metrics?{query}", headers=tokens["sora"])

    assert response.status == 400
    body = await response.json()
    assert body["error"] == "invalid_request"
    assert body["message"].startswith(message)


async def test_the_default_report_is_today_by_day(client: Client, tokens: Any) -> None:
    response = await client.get("/api/metrics", headers=tokens["sora"])

    assert response.status == 200
    report = await response.json()
    assert report["from"] == report["to"]
    assert report["bucket"] == "day"
    assert len(report["buckets"]) == 1
    assert report["buckets"][0]["start"].endswith("T00:00:00+09:00")
    assert report["totals"]["handoffs"] == 0
    assert report["totals"]["containment_rate"] is None


async def test_json_wins_when_the_client_accepts_both(
    client: Client, tokens: Any
) -> None:
    response = await client.get(
        "/api/metrics",
        headers={**tokens["sora"], "Accept": "application/json, text/csv"},
    )

    assert response.content_type == "application/json"


async def test_live_status_shows_the_queue_and_the_team(
    client: Client,
    tokens: Any,
    team: Team,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = []
    for sender_id in ("first", "second", "third"):
        created = await client.post(
            "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
        )
        ids.append((await created.json())["id"])
    claimed = await client.post(f"/api/handoffs/{ids[2]}/claim", headers=tokens["joon"])
    assert claimed.status == 200
    async with sessions.begin() as session:
        await session.execute(
            update(Handoff)
            .where(Handoff.id == ids[0])
            .values(created_at=utcnow() - timedelta(minutes=5))
        )
        await session.execute(
            update(Agent)
            .where(Agent.id == team.mina.id)
            .values(status=AgentStatus.ONLINE)
        )

    response = await client.get("/api/metrics/live", headers=tokens["sora"])

    assert response.status == 200
    live = await response.json()
    assert live["queue"]["queued"] == 2
    assert live["queue"]["assigned"] == 1
    assert 300 <= live["queue"]["longest_wait_seconds"] < 330
    assert live["queue"]["queued_by_skill"] == {"general": 2}
    agents = {agent["username"]: agent for agent in live["agents"]}
    assert agents["joon"]["open_handoffs"] == 1
    assert agents["mina"]["open_handoffs"] == 0
    assert agents["mina"]["status"] == "online"
    assert agents["sora"]["role"] == "supervisor"


async def test_live_status_takes_no_parameters(client: Client, tokens: Any) -> None:
    response = await client.get("/api/metrics/live?x=1", headers=tokens["sora"])

    await assert_refused(
        response, 400, "invalid_request", "this resource takes no query parameters"
    )


async def test_the_supervisor_page_is_served(client: Client) -> None:
    response = await client.get("/supervisor")

    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert '<script type="module" src="/static/supervisor.js">' in page
    for asset in (
        "supervisor.js",
        "supervisor-charts.js",
        "session.js",
        "supervisor.css",
    ):
        served = await client.get(f"/static/{asset}")
        assert served.status == 200, asset


def schema_validator(name: str) -> Draft202012Validator:
    document = openapi_document()
    registry: Registry[Any] = Registry().with_resource(
        "urn:tandem:openapi", Resource.from_contents(document, DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"urn:tandem:openapi#/components/schemas/{name}"}, registry=registry
    )


async def test_answers_match_the_openapi_document(client: Client, tokens: Any) -> None:
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body("c0ffee"), headers=BOT_HEADERS
    )
    handoff_id = (await created.json())["id"]
    await client.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"])
    await client.post(f"/api/handoffs/{handoff_id}/close", headers=tokens["mina"])
    rating = await client.post(
        "/api/rasa/csat",
        json={"sender_id": "c0ffee", "score": 4, "handoff_id": handoff_id},
        headers=BOT_HEADERS,
    )
    report = await client.get("/api/metrics?bucket=hour", headers=tokens["sora"])
    live = await client.get("/api/metrics/live", headers=tokens["sora"])

    schema_validator("CsatRating").validate(await rating.json())
    schema_validator("MetricsReport").validate(await report.json())
    schema_validator("LiveStatus").validate(await live.json())
    assert (await report.json())["agents"][0]["csat_count"] == 1
