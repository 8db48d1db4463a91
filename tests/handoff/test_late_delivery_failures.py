"""Agents' replies a platform accepted and failed to deliver later (Twilio's status
callback, Kakao's event result): the bot's report makes the reply failed, the
console is sent it, the numbers count it; repeated or unknown reports change
nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, StandInRasa, expect_ready, handoff_body
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.storage.models import Delivery, Message
from handoff.vocabulary import DeliveryFailureReason

Client = TestClient[web.Request, web.Application]
WHATSAPP_CUSTOMER = "whatsapp:+821012345678"


async def delivered_reply(client: Client, headers: dict[str, str]) -> tuple[int, int]:
    """(handoff id, message id) of an agent's reply Rasa took."""
    created = await client.post(
        "/api/rasa/handoffs",
        json=handoff_body(WHATSAPP_CUSTOMER),
        headers=BOT_HEADERS,
    )
    handoff_id = int((await created.json())["id"])
    claimed = await client.post(f"/api/handoffs/{handoff_id}/claim", headers=headers)
    assert claimed.status == 200
    sent = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "확인해 드릴게요"},
        headers=headers,
    )
    assert sent.status == 201
    message = await sent.json()
    assert message["delivery"] == "delivered"
    return handoff_id, int(message["id"])


def report(message_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "tandem_message_id": message_id,
        "status": "failed",
        "reason": "window_closed",
        "permanent": True,
        "detail": "Twilio error 63016",
        **changes,
    }


async def test_a_reply_the_platform_failed_later_is_failed_shown_and_counted(
    client: Client,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_id, message_id = await delivered_reply(client, tokens["mina"])
    token = tokens["mina"]["Authorization"].removeprefix("Bearer ")
    feed = await client.ws_connect(f"/api/ws?token={token}")
    await expect_ready(feed)

    response = await client.post(
        "/api/rasa/deliveries", json=report(message_id), headers=BOT_HEADERS
    )

    assert response.status == 200
    answer = await response.json()
    assert answer["changed"] is True
    assert answer["message"]["delivery"] == "failed"
    async with sessions() as session:
        stored = await session.get_one(Message, message_id)
    assert stored.delivery is Delivery.FAILED
    assert stored.failure_reason is DeliveryFailureReason.WINDOW_CLOSED
    assert stored.failure_permanent is True
    frame = await feed.receive_json(timeout=5)
    while frame["type"] != "message.created":
        frame = await feed.receive_json(timeout=5)
    assert frame["message"]["id"] == message_id
    assert frame["message"]["agent_name"] == "Mina Kim"
    assert frame["message"]["delivery_failure"] == {
        "reason": "window_closed",
        "permanent": True,
    }
    await feed.close()
    detail = await (
        await client.get(f"/api/handoffs/{handoff_id}", headers=tokens["mina"])
    ).json()
    assert [m["delivery"] for m in detail["messages"]] == ["failed"]
    today = datetime.now(ZoneInfo("Asia/Seoul")).date()
    numbers = await client.get(
        f"/api/metrics?from={today - timedelta(days=1)}&to={today}",
        headers=tokens["sora"],
    )
    channels = {row["channel"]: row for row in (await numbers.json())["channels"]}
    assert channels["whatsapp"]["delivery_failures"] == 1
    assert channels["whatsapp"]["delivery_failures_by_reason"]["window_closed"] == 1


async def test_a_repeated_report_changes_nothing_and_rasas_echo_keeps_the_failure(
    client: Client,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, message_id = await delivered_reply(client, tokens["mina"])
    first = await client.post(
        "/api/rasa/deliveries", json=report(message_id), headers=BOT_HEADERS
    )
    assert (await first.json())["changed"] is True

    again = await client.post(
        "/api/rasa/deliveries",
        json=report(message_id, reason="blocked"),
        headers=BOT_HEADERS,
    )
    echoed = await client.post(
        "/api/rasa/events",
        json={
            "events": [
                {
                    "event": "bot",
                    "sender_id": WHATSAPP_CUSTOMER,
                    "timestamp": 1732290100.5,
                    "text": "Mina: 확인해 드릴게요",
                    "metadata": {"tandem_message_id": message_id, "agent": "Mina"},
                }
            ]
        },
        headers=BOT_HEADERS,
    )

    assert again.status == 200
    assert (await again.json())["changed"] is False
    assert echoed.status == 202
    async with sessions() as session:
        stored = await session.get_one(Message, message_id)
    assert stored.delivery is Delivery.FAILED
    assert stored.failure_reason is DeliveryFailureReason.WINDOW_CLOSED


async def test_an_unknown_message_or_a_customers_message_is_not_found(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    await delivered_reply(client, tokens["mina"])
    unknown = await client.post(
        "/api/rasa/deliveries", json=report(987654), headers=BOT_HEADERS
    )
    assert unknown.status == 404
    assert (await unknown.json())["error"] == "not_found"


async def test_a_bad_report_is_refused(client: Client, rasa: StandInRasa) -> None:
    for body in (
        report(1, status="delivered"),
        report(1, reason="rasa_unavailable"),
        report(1, reason="lost"),
        report(1, permanent="yes"),
        report(True),
        report(1, detail="x" * 501),
        {**report(1), "extra": 1},
        {"tandem_message_id": 1},
    ):
        response = await client.post(
            "/api/rasa/deliveries", json=body, headers=BOT_HEADERS
        )
        assert response.status == 400, body
        assert (await response.json())["error"] == "invalid_request"


async def test_only_the_bot_may_report(client: Client) -> None:
    response = await client.post("/api/rasa/deliveries", json=report(1))
    assert response.status == 401
