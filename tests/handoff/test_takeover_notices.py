"""What the customer is told when an agent joins, passes the conversation on, or
has to leave it: claims, auto-assignment, transfers and deactivation, on a
stand-in Rasa."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import agent_headers
from handoff_testing import (
    BOT_HEADERS,
    RASA_TOKEN,
    RecordedRequest,
    StandInRasa,
    add_agent,
    handoff_body,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.app_keys import TAKEOVER_NOTICES
from handoff.conversation.takeover_notices import (
    Takeover,
    TakeoverNotice,
    notice_text,
)
from handoff.queue.states import HandoffStatus
from handoff.staff.auth import AuthService
from handoff.storage.models import Agent, Handoff
from handoff.vocabulary import AgentStatus, Skill

Client = TestClient[web.Request, web.Application]

# A guard against a request that would wait for Rasa forever, not a speed limit.
NO_DEADLOCK_SECONDS = 30


async def create(client: Client, sender_id: str = "c0ffee", **fields: Any) -> Any:
    response = await client.post(
        "/api/rasa/handoffs",
        json=handoff_body(sender_id, **fields),
        headers=BOT_HEADERS,
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def claim(client: Client, handoff_id: int, headers: dict[str, str]) -> Any:
    response = await client.post(f"/api/handoffs/{handoff_id}/claim", headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


async def told(client: Client, rasa: StandInRasa) -> list[tuple[str, dict[str, Any]]]:
    """The notices sent so far, as (text, metadata), once all have gone out."""
    await client.app[TAKEOVER_NOTICES].all_delivered()
    return [(n.body["text"], n.body["metadata"]) for n in rasa.notices]


def assigned_to(name: str) -> dict[str, Any]:
    return {"tandem_notice": True, "handoff_status": "assigned", "agent": name}


QUEUED = {"tandem_notice": True, "handoff_status": "queued"}


async def set_status(
    sessions: async_sessionmaker[AsyncSession], agent: Agent, status: AgentStatus
) -> None:
    async with sessions.begin() as session:
        (await session.get_one(Agent, agent.id)).status = status


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("ko", "상담원 Mina Kim님이 연결되었습니다. 지금부터 도와드릴게요."),
        ("en", "You are now chatting with Mina Kim, a customer care agent."),
    ],
)
async def test_a_claim_tells_the_customer_who_joined_in_their_language(
    client: Client, tokens: Any, rasa: StandInRasa, language: str, text: str
) -> None:
    handoff = await create(client, language=language)

    await claim(client, handoff["id"], tokens["mina"])

    assert await told(client, rasa) == [(text, assigned_to("Mina Kim"))]
    assert rasa.notices == [
        RecordedRequest(
            method="POST",
            path="/conversations/c0ffee/tracker/events",
            query={
                "output_channel": "latest",
                "execute_side_effects": "true",
                "token": RASA_TOKEN,
            },
            body={"event": "bot", "text": text, "metadata": assigned_to("Mina Kim")},
        )
    ]


async def test_claiming_ones_own_conversation_again_tells_nothing_new(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff = await create(client)
    await claim(client, handoff["id"], tokens["mina"])

    await claim(client, handoff["id"], tokens["mina"])

    assert len(await told(client, rasa)) == 1


async def test_an_auto_assignment_tells_the_customer_who_joined(
    client: Client,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
    agent_password_hash: str,
) -> None:
    await add_agent(sessions, agent_password_hash, "hana", skills=[Skill.BILLING])

    handoff = await create(client, skill="billing", language="en")

    assert handoff["status"] == "assigned"
    assert await told(client, rasa) == [
        ("You are now chatting with Hana, a customer care agent.", assigned_to("Hana"))
    ]


async def test_an_agent_coming_online_tells_the_waiting_customer(
    client: Client,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
    agent_password_hash: str,
    auth_service: AuthService,
) -> None:
    hana = await add_agent(
        sessions, agent_password_hash, "hana", status=AgentStatus.AWAY
    )
    await create(client)

    response = await client.put(
        "/api/agents/me/status",
        json={"status": "online"},
        headers=await agent_headers(auth_service, hana),
    )

    assert response.status == 200
    assert await told(client, rasa) == [
        ("상담원 Hana님이 연결되었습니다. 지금부터 도와드릴게요.", assigned_to("Hana"))
    ]


async def test_the_bots_request_is_answered_while_rasa_holds_the_conversation(
    client: Client,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
    agent_password_hash: str,
) -> None:
    # The bot asks for the handoff in the middle of the customer's turn, while
    # Rasa holds that conversation: an auto-assignment's notice must not wait.
    await add_agent(sessions, agent_password_hash, "hana")
    rasa.hold = asyncio.Event()

    handoff = await asyncio.wait_for(create(client), NO_DEADLOCK_SECONDS)

    assert handoff["status"] == "assigned"
    rasa.hold.set()
    assert [text for text, _ in await told(client, rasa)] == [
        "상담원 Hana님이 연결되었습니다. 지금부터 도와드릴게요."
    ]


async def test_a_transfer_to_another_agent_tells_the_customer_who_carries_on(
    client: Client,
    team: Any,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff = await create(client)
    await claim(client, handoff["id"], tokens["mina"])
    await set_status(sessions, team.joon, AgentStatus.AWAY)

    response = await client.post(
        f"/api/handoffs/{handoff['id']}/transfer",
        json={"to_agent_id": team.joon.id, "note": "요금 문의"},
        headers=tokens["mina"],
    )

    assert response.status == 200
    assert (await told(client, rasa))[1:] == [
        (
            "상담이 상담원 Joon Park님께 전달되었습니다. "
            "이어서 Joon Park님이 도와드릴게요.",
            assigned_to("Joon Park"),
        )
    ]


async def test_a_transfer_to_another_queue_tells_the_customer_they_wait_again(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff = await create(client, language="en")
    await claim(client, handoff["id"], tokens["mina"])

    response = await client.post(
        f"/api/handoffs/{handoff['id']}/transfer",
        json={"to_skill": "technical", "note": "router fault"},
        headers=tokens["mina"],
    )

    assert response.status == 200
    assert (await told(client, rasa))[1:] == [
        (
            "Your conversation has been passed to our technical support team. "
            "The next available agent there will be with you shortly.",
            QUEUED,
        )
    ]


async def test_a_supervisor_handing_a_waiting_customer_to_an_agent_says_who_joined(
    client: Client,
    team: Any,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff = await create(client)
    await set_status(sessions, team.mina, AgentStatus.AWAY)

    response = await client.post(
        f"/api/handoffs/{handoff['id']}/transfer",
        json={"to_agent_id": team.mina.id, "note": "VIP"},
        headers=tokens["sora"],
    )

    assert response.status == 200
    assert await told(client, rasa) == [
        (
            "상담원 Mina Kim님이 연결되었습니다. 지금부터 도와드릴게요.",
            assigned_to("Mina Kim"),
        )
    ]


async def test_customers_of_a_deactivated_agent_are_told_they_wait_again(
    client: Client, team: Any, tokens: Any, rasa: StandInRasa
) -> None:
    handoff = await create(client)
    await claim(client, handoff["id"], tokens["mina"])

    response = await client.patch(
        f"/api/agents/{team.mina.id}", json={"active": False}, headers=tokens["sora"]
    )

    assert response.status == 200
    assert (await told(client, rasa))[1:] == [
        (
            "담당 상담원이 상담을 이어갈 수 없게 되어 다시 연결을 기다리고 "
            "있습니다. 곧 다른 상담원이 도와드릴게요.",
            QUEUED,
        )
    ]


async def test_the_claim_stands_when_rasa_cannot_be_told(
    client: Client,
    tokens: Any,
    rasa: StandInRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff = await create(client)
    rasa.status = 503

    claimed = await claim(client, handoff["id"], tokens["mina"])

    assert claimed["status"] == "assigned"
    assert len(await told(client, rasa)) == 1
    async with sessions() as session:
        stored = await session.get_one(Handoff, handoff["id"])
    assert stored.status is HandoffStatus.ASSIGNED


async def test_notices_and_replies_reach_the_customer_in_order(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    handoff = await create(client)
    rasa.hold = asyncio.Event()
    await claim(client, handoff["id"], tokens["mina"])

    reply = asyncio.create_task(
        client.post(
            f"/api/handoffs/{handoff['id']}/messages",
            json={"text": "안녕하세요"},
            headers=tokens["mina"],
        )
    )
    rasa.hold.set()
    assert (await reply).status == 201

    assert [request.body["text"] for request in rasa.requests] == [
        "상담원 Mina Kim님이 연결되었습니다. 지금부터 도와드릴게요.",
        "안녕하세요",
    ]


@pytest.mark.parametrize("name", ["민아", "준", "Mina Kim", "Joon"])
def test_korean_notices_put_the_name_before_nim_whatever_its_last_sound(
    name: str,
) -> None:
    def text(takeover: Takeover) -> str:
        return notice_text(TakeoverNotice(1, "c", "ko", takeover, agent_name=name))

    # 님 ends in a consonant, so 님이 and 님께 are right after any name.
    assert text(Takeover.JOINED).startswith(f"상담원 {name}님이 연결되었습니다.")
    assert text(Takeover.PASSED_TO_AGENT) == (
        f"상담이 상담원 {name}님께 전달되었습니다. 이어서 {name}님이 도와드릴게요."
    )


@pytest.mark.parametrize(
    ("skill", "korean", "english"),
    [
        (Skill.BILLING, "요금 담당 상담원에게", "our billing team"),
        (Skill.TECHNICAL, "기술 지원 담당 상담원에게", "our technical support team"),
        (
            Skill.RETENTION,
            "해지·약정 담당 상담원에게",
            "our contracts and cancellations team",
        ),
        (Skill.GENERAL, "일반 상담 담당 상담원에게", "our customer care team"),
    ],
)
def test_a_transfer_to_a_queue_names_the_team(
    skill: Skill, korean: str, english: str
) -> None:
    def text(language: str) -> str:
        return notice_text(
            TakeoverNotice(1, "c", language, Takeover.PASSED_TO_QUEUE, skill=skill)
        )

    assert korean in text("ko")
    assert english in text("en")


def test_every_notice_exists_in_both_languages() -> None:
    for takeover in Takeover:
        texts = {
            language: notice_text(
                TakeoverNotice(
                    1, "c", language, takeover, agent_name="Mina", skill=Skill.BILLING
                )
            )
            for language in ("ko", "en")
        }
        assert any("\uac00" <= char <= "\ud7a3" for char in texts["ko"])
        assert texts["en"].isascii()
        assert texts["ko"] != texts["en"]
