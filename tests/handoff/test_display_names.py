"""Staff see customers, channels and colleagues by name, never by the bot's ids."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, expect_ready, handoff_body

from handoff.conversation.display_names import (
    channel_kind,
    customer_name,
    mask_name,
)
from handoff.vocabulary import ChannelKind

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("김민수", "김*수"),
        ("남궁민수", "남**수"),
        ("이수", "이*"),
        ("김", "김*"),
        ("Jane Doe", "J*** D**"),
        ("  Jane   Doe ", "J*** D**"),
    ],
)
def test_a_typed_name_is_masked(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_only_a_verified_name_is_shown_in_full() -> None:
    verified = {"verified_identity": {"customer_id": "C-1", "name": "김민수"}}
    typed = {"slots": {"signup_name": "김민수"}}

    assert customer_name(verified).name == "김민수"
    assert customer_name(verified).verified
    assert customer_name(typed).name == "김*수"
    assert not customer_name(typed).verified
    # Verified without a name on file: verified, but nothing to show.
    assert customer_name({"verified_identity": {"customer_id": "C-1"}}).name is None
    assert customer_name({"verified_identity": {"customer_id": "C-1"}}).verified
    assert customer_name({"slots": {"signup_name": "  "}}).name is None
    assert customer_name({}).name is None


@pytest.mark.parametrize(
    ("channel", "sender_id", "kind"),
    [
        ("socketio", "Zm9vYmFy.c2ln", ChannelKind.WEB_CHAT),
        # A web chat id is random: what looks like a prefix is not one.
        ("socketio", "sms-3f9a.c2ln", ChannelKind.WEB_CHAT),
        ("telegram", "123456789", ChannelKind.TELEGRAM),
        ("twilio", "+821012345678", ChannelKind.SMS),
        ("twilio", "whatsapp:+821012345678", ChannelKind.WHATSAPP),
        ("callback", "kakao:a1b2c3", ChannelKind.KAKAOTALK),
        ("rest", "kakao-user-1", ChannelKind.KAKAOTALK),
        ("kakaotalk", "a1b2c3", ChannelKind.KAKAOTALK),
        ("rest", "bench-42", ChannelKind.OTHER),
        ("facebook", "1234", ChannelKind.OTHER),
    ],
)
def test_the_channel_is_named_from_the_sender_and_the_input_channel(
    channel: str, sender_id: str, kind: ChannelKind
) -> None:
    assert channel_kind(channel, sender_id) is kind


async def create(client: Client, sender_id: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/rasa/handoffs",
        json=handoff_body(sender_id, **fields),
        headers=BOT_HEADERS,
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def test_handoffs_name_the_customer_the_channel_and_the_agent(
    client: Client, tokens: Any, team: Any
) -> None:
    verified = await create(
        client,
        "web-1",
        verified_identity={"customer_id": "C-1", "name": "김민수"},
    )
    typed = await create(
        client,
        "kakao:7f3a",
        channel="callback",
        slots={"language": "ko", "signup_name": "Jane Doe"},
    )
    assert (verified["customer_name"], verified["customer_verified"]) == (
        "김민수",
        True,
    )
    assert verified["channel_kind"] == "web_chat"
    assert (typed["customer_name"], typed["customer_verified"]) == ("J*** D**", False)
    assert typed["channel_kind"] == "kakaotalk"
    assert verified["assigned_agent_name"] is None

    claimed = await client.post(
        f"/api/handoffs/{verified['id']}/claim", headers=tokens["mina"]
    )
    assert (await claimed.json())["assigned_agent_name"] == "Mina Kim"
    listing = await (await client.get("/api/handoffs", headers=tokens["sora"])).json()
    names = {item["id"]: item["assigned_agent_name"] for item in listing["handoffs"]}
    assert names == {verified["id"]: "Mina Kim", typed["id"]: None}


async def test_messages_notes_and_transfers_name_their_agents(
    client: Client, tokens: Any, team: Any
) -> None:
    handoff = await create(client, "web-2")
    path = f"/api/handoffs/{handoff['id']}"
    await client.post(f"{path}/claim", headers=tokens["mina"])
    async with client.ws_connect(
        f"/api/ws?token={tokens['sora']['Authorization'].removeprefix('Bearer ')}"
    ) as feed:
        await expect_ready(feed)
        reply = await client.post(
            f"{path}/messages", json={"text": "안녕하세요"}, headers=tokens["mina"]
        )
        assert (await reply.json())["agent_name"] == "Mina Kim"
        frame = await feed.receive_json(timeout=5)
        assert frame["type"] == "message.created"
        assert frame["message"]["agent_name"] == "Mina Kim"
    note = await client.post(
        f"{path}/notes", json={"text": "확인 중"}, headers=tokens["sora"]
    )
    assert (await note.json())["agent_name"] == "Sora Lee"
    transfer = await client.post(
        f"{path}/transfer",
        json={"to_agent_id": team.joon.id, "note": "기술 문의"},
        headers=tokens["mina"],
    )
    assert transfer.status == 409  # joon is offline
    await client.put(
        "/api/agents/me/status", json={"status": "away"}, headers=tokens["joon"]
    )
    moved = await client.post(
        f"{path}/transfer",
        json={"to_agent_id": team.joon.id, "note": "기술 문의"},
        headers=tokens["mina"],
    )
    assert (await moved.json())["assigned_agent_name"] == "Joon Park"

    detail = await (await client.get(path, headers=tokens["sora"])).json()
    assert [(m["role"], m["agent_name"]) for m in detail["messages"]] == [
        ("agent", "Mina Kim"),
        ("note", "Sora Lee"),
    ]
    [moved_record] = detail["transfers"]
    assert (moved_record["from_agent_name"], moved_record["to_agent_name"]) == (
        "Mina Kim",
        "Joon Park",
    )
    transcript = await (
        await client.get(f"{path}/transcript", headers=tokens["sora"])
    ).json()
    assert [entry["agent_name"] for entry in transcript["entries"]] == [
        None,
        None,
        "Mina Kim",
    ]
