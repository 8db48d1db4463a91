"""GET /metrics after real traffic, who may scrape it, and the health checks."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import (
    BOT_HEADERS,
    SERVICE_SECRET,
    StandInRasa,
    assert_refused,
    handoff_body,
    user_event,
)
from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp import AiohttpClient
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff.app import create_app
from handoff.observability.logs import (
    ConversationFilter,
    JsonFormatter,
    conversation_log_id,
)
from handoff.settings import Settings

Client = TestClient[web.Request, web.Application]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: Client, headers: dict[str, str] | None = None) -> Samples:
    response = await client.get("/metrics", headers=headers or {})
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def open_handoff(client: Client, sender_id: str) -> int:
    response = await client.post(
        "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
    )
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def test_a_round_trip_moves_the_counters_and_histograms(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    telegram = await open_handoff(client, "telegram:4242")
    await open_handoff(client, "c0ffee")
    await open_handoff(client, "kakao:friend-7")

    claimed = await client.post(
        f"/api/handoffs/{telegram}/claim", headers=tokens["mina"]
    )
    assert claimed.status == 200
    ingested = await client.post(
        "/api/rasa/events",
        json={"events": [user_event("telegram:4242", "still there?")]},
        headers=BOT_HEADERS,
    )
    assert (await ingested.json())["accepted"] == 1
    replied = await client.post(
        f"/api/handoffs/{telegram}/messages",
        json={"text": "Yes, I am here."},
        headers=tokens["mina"],
    )
    assert replied.status == 201, await replied.text()
    closed = await client.post(
        f"/api/handoffs/{telegram}/close", headers=tokens["mina"]
    )
    assert closed.status == 200

    async with client.ws_connect(f"/api/ws?token={token_of(tokens['joon'])}") as feed:
        assert (await feed.receive_json(timeout=5))["type"] == "feed.ready"
        samples = await scrape(client)

    created = "tandem_service_handoffs_created_total"
    assert value(samples, created, reason="human_requested", channel="telegram") == 1
    assert value(samples, created, reason="human_requested", channel="web") == 1
    assert value(samples, created, reason="human_requested", channel="kakao") == 1
    assert (
        value(samples, "tandem_service_handoff_wait_seconds_count", skill="general")
        == 1
    )
    assert value(samples, "tandem_service_relay_customer_seconds_count") == 1
    assert value(samples, "tandem_service_relay_agent_seconds_count") == 1
    assert value(samples, "tandem_service_relay_agent_seconds_sum") > 0
    # Two customers still wait in the general queue; nobody in the others.
    assert value(samples, "tandem_service_queue_length", skill="general") == 2
    assert value(samples, "tandem_service_queue_length", skill="billing") == 0
    assert (
        value(samples, "tandem_service_queue_longest_wait_seconds", skill="general")
        >= 0
    )
    assert value(samples, "tandem_service_queue_read_ok") == 1
    assert value(samples, "tandem_service_websocket_connections") == 1
    assert value(samples, "tandem_service_db_pool_size") >= 1
    assert value(samples, "tandem_service_db_pool_checked_out") >= 0
    assert value(samples, "tandem_service_db_pool_overflow") >= 0


async def test_a_failed_reply_is_no_relay_time(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff_id = await open_handoff(client, "c0ffee")
    await client.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"])
    rasa.status = 500

    replied = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "Hello?"},
        headers=tokens["mina"],
    )

    assert replied.status == 502
    samples = await scrape(client)
    assert value(samples, "tandem_service_relay_agent_seconds_count") == 0


async def test_events_that_cannot_be_taken_are_counted_by_kind(
    client: Client,
) -> None:
    good = user_event("c0ffee")
    bad = {**user_event("c0ffee"), "sender_id": "x" * 300}
    batch = await client.post(
        "/api/rasa/events",
        json={"events": [good, bad, bad], "dropped": 3},
        headers=BOT_HEADERS,
    )
    assert batch.status == 202
    not_a_batch = await client.post(
        "/api/rasa/events", json={"events": "nope"}, headers=BOT_HEADERS
    )
    assert not_a_batch.status == 400

    samples = await scrape(client)

    errors = "tandem_service_ingest_errors_total"
    assert value(samples, errors, kind="invalid_event") == 2
    assert value(samples, errors, kind="dropped_by_bot") == 3
    assert value(samples, errors, kind="invalid_batch") == 1
    assert value(samples, errors, kind="failed") == 0


async def test_reasons_beyond_the_bound_are_counted_as_other(client: Client) -> None:
    weird = handoff_body("c0ffee", reason="Not A Word!")

    response = await client.post("/api/rasa/handoffs", json=weird, headers=BOT_HEADERS)

    assert response.status == 201
    samples = await scrape(client)
    created = "tandem_service_handoffs_created_total"
    assert value(samples, created, reason="other", channel="web") == 1


async def test_every_instance_reports_the_whole_queue(
    aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine
) -> None:
    first = await aiohttp_client(create_app(settings, run_sweeper=False))
    second = await aiohttp_client(create_app(settings, run_sweeper=False))
    await open_handoff(first, "c0ffee")
    await open_handoff(first, "telegram:1")

    samples = await scrape(second)

    assert value(samples, "tandem_service_queue_length", skill="general") == 2
    # Counted where it happened: the other instance opened none.
    created = "tandem_service_handoffs_created_total"
    assert not any(name == created for name, _ in samples)


async def test_a_proxied_scrape_is_refused_without_a_token(client: Client) -> None:
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        response = await client.get("/metrics", headers={header: "203.0.113.9"})

        await assert_refused(response, 403, "forbidden", "only on loopback")


async def test_with_a_token_only_the_token_may_scrape(
    aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine
) -> None:
    guarded = dataclasses.replace(settings, metrics_token="scrape-me")
    client = await aiohttp_client(create_app(guarded, run_sweeper=False))

    missing = await client.get("/metrics")
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    agent_like = await client.get("/metrics", headers=BOT_HEADERS)

    for refused in (missing, wrong, agent_like):
        await assert_refused(refused, 401, "unauthorized", "metrics bearer token")
    samples = await scrape(client, {"Authorization": "Bearer scrape-me"})
    assert value(samples, "tandem_service_queue_read_ok") == 1


async def test_liveness_checks_nothing_but_the_process(client: Client) -> None:
    response = await client.get("/health/live")

    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_ready_when_the_database_and_rasa_answer(client: Client) -> None:
    response = await client.get("/health/ready")

    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "rasa": "ok"},
    }


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_not_ready_while_the_database_is_down(
    aiohttp_client: AiohttpClient, settings: Settings, feed_gives_up_waiting_soon: None
) -> None:
    unreachable = dataclasses.replace(
        settings,
        database_url=f"postgresql+asyncpg://nobody@127.0.0.1:{closed_port()}/none",
    )
    client = await aiohttp_client(create_app(unreachable, run_sweeper=False))

    response = await client.get("/health/ready")

    assert response.status == 503
    assert await response.json() == {
        "status": "unavailable",
        "failing": ["database"],
        "checks": {"database": "unavailable", "rasa": "ok"},
    }
    # The scrape still answers, and says the queue could not be read.
    samples = await scrape(client)
    assert value(samples, "tandem_service_queue_read_ok") == 0
    assert not any(name == "tandem_service_queue_length" for name, _ in samples)


async def test_ready_but_degraded_while_rasa_is_down(
    aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine
) -> None:
    without_rasa = dataclasses.replace(
        settings, rasa_url=f"http://127.0.0.1:{closed_port()}"
    )
    client = await aiohttp_client(create_app(without_rasa, run_sweeper=False))

    response = await client.get("/health/ready")

    assert response.status == 200
    assert await response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "rasa": "unavailable"},
    }


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger's records as JSON lines, as TANDEM_LOG_FORMAT=json writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ConversationFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


async def test_log_lines_name_the_conversation_by_its_log_id_only(
    client: Client, tokens: Any, rasa: StandInRasa, json_log: io.StringIO
) -> None:
    sender_id = "telegram:4242"
    handoff_id = await open_handoff(client, sender_id)
    await client.post(f"/api/handoffs/{handoff_id}/claim", headers=tokens["mina"])
    rasa.status = 500

    await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "Hello?"},
        headers=tokens["mina"],
    )
    await client.get("/health/live")

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    warning = next(line for line in lines if "Rasa answered 500" in line["message"])
    assert warning["conversation_id"] == conversation_log_id(sender_id, SERVICE_SECRET)
    assert warning["level"] == "WARNING"
    assert warning["process"] == "handoff"
    assert "4242" not in json_log.getvalue()
    # The next request on the same connection names no conversation.
    access = [line for line in lines if "/health/live" in line["message"]]
    assert all("conversation_id" not in line for line in access)
