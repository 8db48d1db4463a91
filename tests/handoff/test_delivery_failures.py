"""Agent replies the customer's channel could not deliver: recognised in Rasa's
answer, kept on the message with their reason, shown to the agent, never retried by
the service; and the customer's channel told by the sender id."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, StandInRasa, expect_ready, handoff_body
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.conversation.channels import channel_of
from handoff.conversation.rasa_client import channel_failure
from handoff.storage.models import Delivery, Message
from handoff.vocabulary import Channel, DeliveryFailureReason

Client = TestClient[web.Request, web.Application]
ROOT = Path(__file__).resolve().parents[2]
WHATSAPP_CUSTOMER = "whatsapp:+821012345678"


def rasa_error(exception_text: str) -> dict[str, Any]:
    """Rasa's answer when appending events fails (rasa/server.py ErrorResponse)."""
    return {
        "version": "3.6.21",
        "status": "failure",
        "message": f"An unexpected error occurred. Error: {exception_text}",
        "reason": "ConversationError",
        "details": {},
        "help": None,
        "code": 500,
    }


async def assigned(client: Client, headers: dict[str, str], sender_id: str) -> int:
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
    )
    handoff_id = int((await created.json())["id"])
    claimed = await client.post(f"/api/handoffs/{handoff_id}/claim", headers=headers)
    assert claimed.status == 200
    return handoff_id


async def test_a_closed_whatsapp_window_is_kept_on_the_reply_and_shown(
    client: Client,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_id = await assigned(client, tokens["mina"], WHATSAPP_CUSTOMER)
    token = tokens["mina"]["Authorization"].removeprefix("Bearer ")
    feed = await client.ws_connect(f"/api/ws?token={token}")
    await expect_ready(feed)
    rasa.status = 500
    rasa.answer = rasa_error(
        "tandem-delivery-failed:whatsapp:window_closed:permanent: WhatsApp allows"
        " free-form messages only within 24 hours of the customer's last message"
    )

    response = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "늦어서 죄송합니다"},
        headers=tokens["mina"],
    )

    assert response.status == 502
    problem = await response.json()
    assert problem == {
        "error": "delivery_failed",
        "message": problem["message"],
        "channel": "whatsapp",
        "reason": "window_closed",
        "permanent": True,
        "message_id": problem["message_id"],
    }
    async with sessions() as session:
        stored = await session.get_one(Message, problem["message_id"])
    assert stored.delivery is Delivery.FAILED
    assert stored.failure_reason is DeliveryFailureReason.WINDOW_CLOSED
    assert stored.failure_permanent is True
    detail = await (
        await client.get(f"/api/handoffs/{handoff_id}", headers=tokens["mina"])
    ).json()
    assert detail["channel"] == "whatsapp"
    assert [(m["delivery"], m["delivery_failure"]) for m in detail["messages"]] == [
        ("failed", {"reason": "window_closed", "permanent": True})
    ]
    frame = await feed.receive_json(timeout=5)
    while frame["type"] != "message.created":
        frame = await feed.receive_json(timeout=5)
    assert frame["message"]["delivery_failure"] == {
        "reason": "window_closed",
        "permanent": True,
    }
    # The service tried once: the channel had retried what could be retried.
    assert len(rasa.without_notices) == 1
    await feed.close()


async def test_a_transient_channel_failure_says_it_may_be_sent_again(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff_id = await assigned(client, tokens["mina"], "telegram:424242")
    rasa.status = 500
    rasa.answer = rasa_error(
        "tandem-delivery-failed:telegram:platform_error:transient: 502"
    )

    response = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "hi"},
        headers=tokens["mina"],
    )

    problem = await response.json()
    assert (problem["error"], problem["reason"], problem["permanent"]) == (
        "delivery_failed",
        "platform_error",
        False,
    )


async def test_rasa_being_down_is_a_failure_of_its_own(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff_id = await assigned(client, tokens["mina"], "c0ffee")
    rasa.status = 503

    response = await client.post(
        f"/api/handoffs/{handoff_id}/messages",
        json={"text": "hi"},
        headers=tokens["mina"],
    )

    assert (await response.json())["error"] == "rasa_unavailable"
    detail = await (
        await client.get(f"/api/handoffs/{handoff_id}", headers=tokens["mina"])
    ).json()
    assert detail["messages"][0]["delivery_failure"] == {
        "reason": "rasa_unavailable",
        "permanent": False,
    }


async def test_the_echo_of_a_reply_that_got_through_after_all_clears_its_failure(
    client: Client,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_id = await assigned(client, tokens["mina"], "c0ffee")
    rasa.status = 503
    failed = await (
        await client.post(
            f"/api/handoffs/{handoff_id}/messages",
            json={"text": "hi"},
            headers=tokens["mina"],
        )
    ).json()

    echoed = await client.post(
        "/api/rasa/events",
        json={
            "events": [
                {
                    "event": "bot",
                    "sender_id": "c0ffee",
                    "timestamp": 1732290100.5,
                    "text": "hi",
                    "metadata": {
                        "tandem_message_id": failed["message_id"],
                        "agent": "Mina",
                    },
                }
            ]
        },
        headers=BOT_HEADERS,
    )

    assert echoed.status == 202
    async with sessions() as session:
        stored = await session.get_one(Message, failed["message_id"])
    assert stored.delivery is Delivery.DELIVERED
    assert (stored.failure_reason, stored.failure_permanent) == (None, None)


@pytest.mark.parametrize(
    "answer",
    [
        "tandem-delivery-failed:fax:blocked:permanent: x",
        "tandem-delivery-failed:sms:lost_in_the_mail:permanent: x",
        "tandem-delivery-failed:sms:rasa_unavailable:permanent: x",
        "tandem-delivery-failed:sms:blocked:forever: x",
        "An unexpected error occurred. Error: database is locked",
    ],
)
def test_only_a_well_formed_failure_of_a_known_channel_is_a_channel_failure(
    answer: str,
) -> None:
    assert channel_failure(answer) is None


def test_a_channel_failure_is_read_from_rasas_answer() -> None:
    failed = channel_failure(
        str(rasa_error("tandem-delivery-failed:sms:blocked:permanent: 21610"))
    )

    assert failed is not None
    assert (failed.channel, failed.reason, failed.permanent) == ("sms", "blocked", True)
    assert failed.status == 502
    assert failed.code == "delivery_failed"


@pytest.mark.parametrize(
    ("sender_id", "channel"),
    [
        ("telegram:424242", Channel.TELEGRAM),
        ("whatsapp:+821012345678", Channel.WHATSAPP),
        ("sms:+821012345678", Channel.SMS),
        ("kakao:a1b2c3", Channel.KAKAO),
        ("Zm9vYmFy.c2lnbmF0dXJl", Channel.WEB),
        ("telegram:", Channel.WEB),
        ("facebook:1", Channel.WEB),
        ("c0ffee", Channel.WEB),
    ],
)
def test_the_channel_is_the_sender_ids_prefix(sender_id: str, channel: Channel) -> None:
    assert channel_of(sender_id) is channel


def test_the_bot_names_the_same_channels() -> None:
    # The bot's mapping, read as text: the service does not import the bot's code.
    source = (ROOT / "bot" / "channels" / "sender_ids.py").read_text("utf-8")
    line = next(line for line in source.splitlines() if line.startswith("CHANNELS = "))
    bot_channels = ast.literal_eval(line.removeprefix("CHANNELS = "))

    assert sorted([*bot_channels, "web"]) == sorted(
        channel.value for channel in Channel
    )


async def test_the_handoff_card_shows_the_customers_channel(
    client: Client, tokens: Any
) -> None:
    created = await client.post(
        "/api/rasa/handoffs",
        json=handoff_body("sms:+821012345678", channel="twilio"),
        headers=BOT_HEADERS,
    )
    web_chat = await client.post(
        "/api/rasa/handoffs", json=handoff_body("c0ffee"), headers=BOT_HEADERS
    )

    assert (await created.json())["channel"] == "sms"
    assert (await web_chat.json())["channel"] == "web"
    listed = await (await client.get("/api/handoffs", headers=tokens["mina"])).json()
    assert sorted(item["channel"] for item in listed["handoffs"]) == ["sms", "web"]
