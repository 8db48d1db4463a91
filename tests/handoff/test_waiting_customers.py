"""What a queued customer is told: the wait estimate through the API, the shape of
the service's updates, and the acknowledgement of messages written while waiting."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import (
    BOT_HEADERS,
    StandInRasa,
    add_agent,
    expect_ready,
    handoff_body,
    user_event,
)
from pytest_aiohttp import AiohttpClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handoff.app import create_app
from handoff.app_keys import SWEEPER
from handoff.conversation.customer_notices import (
    acknowledgement_text,
    wait_update_text,
)
from handoff.queue.queue_snapshot import read_queue_snapshot
from handoff.queue.states import HandoffStatus
from handoff.queue.wait_estimate import OnlineAgent
from handoff.settings import Settings
from handoff.storage.models import Agent, Handoff, utcnow
from handoff.vocabulary import AgentStatus, Priority, Skill

Client = TestClient[web.Request, web.Application]
REPOSITORY = Path(__file__).resolve().parents[2]
ACK_KO = "메시지를 받았습니다. 상담원에게 함께 전달됩니다."


class Clock:
    """The time the relay goes by, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, settings: Settings, engine: AsyncEngine, clock: Clock
) -> Client:
    return await aiohttp_client(create_app(settings, run_sweeper=False, clock=clock))


async def create(client: Client, sender_id: str, **fields: Any) -> Any:
    response = await client.post(
        "/api/rasa/handoffs",
        json=handoff_body(sender_id, **fields),
        headers=BOT_HEADERS,
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def write(
    client: Client, text: str, timestamp: float, sender_id: str = "c0ffee"
) -> None:
    response = await client.post(
        "/api/rasa/events",
        json={"events": [user_event(sender_id, text, timestamp)]},
        headers=BOT_HEADERS,
    )
    assert response.status == 202, await response.text()
    assert (await response.json())["accepted"] == 1


def notices_to(rasa: StandInRasa, sender_id: str) -> list[str]:
    return [
        request.body["text"]
        for request in rasa.requests
        if request.path == f"/conversations/{sender_id}/tracker/events"
        and request.body.get("metadata") == {"tandem_notice": True}
    ]


async def add_history(
    sessions: async_sessionmaker[AsyncSession], skill: Skill, minutes: list[float]
) -> None:
    now = utcnow()
    async with sessions.begin() as session:
        for index, duration in enumerate(minutes):
            session.add(
                Handoff(
                    sender_id=f"past-{skill.value}-{index}",
                    channel="socketio",
                    language="ko",
                    reason="human_requested",
                    status=HandoffStatus.RESOLVED,
                    context={},
                    skill=skill,
                    created_at=now - timedelta(hours=2),
                    assigned_at=now - timedelta(minutes=duration + 90),
                    resolved_at=now - timedelta(minutes=90),
                    last_customer_activity_at=now,
                )
            )


# The estimate


async def test_with_every_agent_full_and_45_queued_the_wait_is_long(
    client: Client, sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> None:
    # Most recent chats were closed within seconds (duplicates, mistakes), two
    # took a quarter of an hour: the median says 20 s, the slots say otherwise.
    await add_history(sessions, Skill.BILLING, [1 / 3] * 4 + [15, 15])
    for name in ("a", "b"):
        await add_agent(
            sessions,
            agent_password_hash,
            name,
            skills=[Skill.BILLING, Skill.TECHNICAL],
            capacity=3,
        )
    for index in range(6):
        busy = await create(client, f"busy{index}", skill="billing")
        assert busy["status"] == "assigned"
    # The same two agents work the technical queue, whose 31 came first.
    for index in range(31):
        await create(client, f"tech{index}", skill="technical")
    billing = [
        await create(client, f"bill{index}", skill="billing") for index in range(14)
    ]

    fourteenth = billing[-1]
    assert fourteenth["queue_position"] == 14
    # 44 handoffs ahead take the six slots first; they free up at six per mean
    # handle time (313 s): the 45th about 44.67 × 313.3 ÷ 6 seconds from now,
    # some 39 minutes (the previous formula said 14 × 20 ÷ 6 s: "1 minute").
    assert fourteenth["estimated_wait_seconds"] == 2333

    told = await client.app[SWEEPER].sweep(utcnow() + timedelta(minutes=2))
    assert fourteenth["id"] not in told.notified  # nothing changed since


async def test_nobody_online_with_the_skill_means_an_unknown_wait(
    client: Client, sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> None:
    await add_history(sessions, Skill.BILLING, [5, 5])
    await add_agent(sessions, agent_password_hash, "tech", skills=[Skill.TECHNICAL])

    created = await create(client, "c0ffee", skill="billing")

    assert created["queue_position"] == 1
    assert created["estimated_wait_seconds"] is None


# The shape of what the customer reads


@pytest.mark.parametrize(
    ("language", "wait", "text"),
    [
        (
            "ko",
            130,
            "지금 대기 순서는 3번째이고, 예상 대기 시간은 약 3분입니다. "
            "'취소'라고 보내시면 대기를 멈춥니다.",
        ),
        (
            "ko",
            None,
            "지금 대기 순서는 3번째입니다. 지금은 예상 시간을 알 수 없습니다. "
            "'취소'라고 보내시면 대기를 멈춥니다.",
        ),
        (
            "en",
            130,
            "You are number 3 in the queue; the expected wait is about 3 minutes. "
            "Send 'cancel' to stop waiting.",
        ),
        (
            "en",
            45,
            "You are number 3 in the queue; the expected wait is about 1 minute. "
            "Send 'cancel' to stop waiting.",
        ),
        (
            "en",
            None,
            "You are number 3 in the queue. The expected wait is unknown right now. "
            "Send 'cancel' to stop waiting.",
        ),
    ],
)
def test_every_update_has_the_position_the_wait_and_the_way_out(
    language: str, wait: int | None, text: str
) -> None:
    assert wait_update_text(language, 3, wait) == text


async def test_the_sweeper_s_update_has_the_same_shape(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    tokens: Any,
    rasa: StandInRasa,
    agent_password_hash: str,
) -> None:
    await add_history(sessions, Skill.GENERAL, [6, 6, 6])
    mina = await add_agent(sessions, agent_password_hash, "mina2", capacity=1)
    assert (await create(client, "first"))["status"] == "assigned"
    await create(client, "second")
    third = await create(client, "third", language="en")
    # The second slot to free up, of one that frees up every six minutes.
    assert (third["queue_position"], third["estimated_wait_seconds"]) == (2, 607)

    # The agent goes away: nobody left online with the skill.
    async with sessions.begin() as session:
        (await session.get_one(Agent, mina.id)).status = AgentStatus.AWAY
    told = await client.app[SWEEPER].sweep(utcnow() + timedelta(minutes=2))

    assert third["id"] in told.notified
    assert notices_to(rasa, "third") == [
        "You are number 2 in the queue. The expected wait is unknown right now. "
        "Send 'cancel' to stop waiting."
    ]


# Messages written while waiting


async def test_a_message_while_queued_is_acknowledged_at_most_once_a_minute(
    client: Client, clock: Clock, rasa: StandInRasa, tokens: Any
) -> None:
    handoff = await create(client, "c0ffee")

    await write(client, "아직 멀었나요?", 1732290001.0)
    clock.advance(30)
    await write(client, "빨리 부탁드려요", 1732290031.0)
    assert notices_to(rasa, "c0ffee") == [ACK_KO]

    clock.advance(31)
    await write(client, "요금 문의예요", 1732290062.0)
    assert notices_to(rasa, "c0ffee") == [ACK_KO, ACK_KO]

    # With an agent, the agent answers; the service says nothing.
    await client.post(f"/api/handoffs/{handoff['id']}/claim", headers=tokens["mina"])
    clock.advance(120)
    await write(client, "안녕하세요", 1732290182.0)
    assert notices_to(rasa, "c0ffee") == [ACK_KO, ACK_KO]
    assert rasa.requests[0].body == {
        "event": "bot",
        "text": ACK_KO,
        "metadata": {"tandem_notice": True},
    }
    assert rasa.requests[0].query["output_channel"] == "latest"


async def test_the_acknowledgement_speaks_the_customer_s_language(
    client: Client, rasa: StandInRasa
) -> None:
    await create(client, "visitor", language="en")

    await write(client, "are you there?", 1732290001.0, "visitor")

    assert notices_to(rasa, "visitor") == [acknowledgement_text("en")]
    assert acknowledgement_text("en") == (
        "Message received. The agent will see it with the rest of your chat."
    )


async def test_the_acknowledged_message_reaches_the_agent(
    client: Client, rasa: StandInRasa, tokens: Any
) -> None:
    handoff = await create(client, "c0ffee")
    token = tokens["mina"]["Authorization"].removeprefix("Bearer ")
    feed = await client.ws_connect(f"/api/ws?token={token}")
    await expect_ready(feed)

    await write(client, "청구서가 두 번 왔어요", 1732290001.0)

    frame = await feed.receive_json(timeout=5)
    assert frame["type"] == "message.created"
    assert frame["message"]["text"] == "청구서가 두 번 왔어요"
    assert notices_to(rasa, "c0ffee") == [ACK_KO]
    await feed.close()
    await client.post(f"/api/handoffs/{handoff['id']}/claim", headers=tokens["mina"])
    detail = await (
        await client.get(f"/api/handoffs/{handoff['id']}", headers=tokens["mina"])
    ).json()
    assert [(m["role"], m["text"]) for m in detail["messages"]] == [
        ("user", "청구서가 두 번 왔어요")
    ]


async def test_the_minute_holds_across_service_instances(
    aiohttp_client: AiohttpClient,
    client: Client,
    settings: Settings,
    clock: Clock,
    rasa: StandInRasa,
) -> None:
    other = await aiohttp_client(create_app(settings, run_sweeper=False, clock=clock))
    await create(client, "c0ffee")

    await write(client, "여보세요", 1732290001.0)
    clock.advance(20)
    await write(other, "계세요?", 1732290021.0)
    assert notices_to(rasa, "c0ffee") == [ACK_KO]

    clock.advance(45)
    await write(other, "기다릴게요", 1732290066.0)
    assert notices_to(rasa, "c0ffee") == [ACK_KO, ACK_KO]


async def test_a_redelivered_message_is_not_acknowledged_again(
    client: Client, clock: Clock, rasa: StandInRasa
) -> None:
    await create(client, "c0ffee")
    await write(client, "여보세요", 1732290001.0)
    clock.advance(90)

    response = await client.post(
        "/api/rasa/events",
        json={"events": [user_event("c0ffee", "여보세요", 1732290001.0)]},
        headers=BOT_HEADERS,
    )

    assert (await response.json())["duplicates"] == 1
    assert notices_to(rasa, "c0ffee") == [ACK_KO]


@pytest.mark.parametrize(
    ("response", "wait"),
    [
        ("utter_handoff_queued", 130),
        ("utter_handoff_queued_minute", 45),
        ("utter_handoff_queued_unknown_wait", None),
    ],
)
def test_the_bot_s_first_message_ends_like_every_update(
    response: str, wait: int | None
) -> None:
    """The bot words the first message (domain.yml), the service every later one:
    the same position, wait and way out, in both languages."""
    domain = yaml.safe_load((REPOSITORY / "domain.yml").read_text("utf-8"))
    variations = domain["responses"][response]
    by_language = {
        "en" if variation.get("condition") else "ko": variation["text"]
        for variation in variations
    }
    assert by_language.keys() == {"ko", "en"}
    for language, text in by_language.items():
        first = text.format(queue_position=3, wait_minutes=3)
        assert first.endswith(" " + wait_update_text(language, 3, wait)), first


async def test_the_snapshot_holds_the_team_the_history_and_who_gave_up(
    sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> None:
    now = utcnow()
    agent = await add_agent(
        sessions, agent_password_hash, "both", skills=[Skill.BILLING, Skill.TECHNICAL]
    )
    await add_agent(
        sessions, agent_password_hash, "away", status=AgentStatus.AWAY, capacity=5
    )

    def row(name: str, status: HandoffStatus, **fields: Any) -> Handoff:
        return Handoff(
            sender_id=name,
            channel="socketio",
            language="ko",
            reason="human_requested",
            status=status,
            context={},
            skill=fields.pop("skill", Skill.BILLING),
            last_customer_activity_at=now,
            **fields,
        )

    def minutes(count: int) -> datetime:
        return now - timedelta(minutes=count)

    async with sessions.begin() as session:
        session.add_all(
            [
                # Gave up after ten minutes, in the last half hour.
                row(
                    "left",
                    HandoffStatus.ABANDONED,
                    created_at=minutes(20),
                    resolved_at=minutes(10),
                ),
                # Waited five minutes, now with the agent.
                row(
                    "served",
                    HandoffStatus.ASSIGNED,
                    created_at=minutes(10),
                    assigned_at=minutes(5),
                    assigned_agent_id=agent.id,
                    skill=Skill.TECHNICAL,
                ),
                # Waited 20 minutes, ten of them in the last half hour; resolved.
                row(
                    "long",
                    HandoffStatus.RESOLVED,
                    created_at=minutes(40),
                    assigned_at=minutes(20),
                    resolved_at=minutes(8),
                ),
                # Long ago: outside the half hour.
                row(
                    "yesterday",
                    HandoffStatus.ABANDONED,
                    created_at=minutes(26 * 60),
                    resolved_at=minutes(25 * 60),
                ),
                row("waiting", HandoffStatus.QUEUED, created_at=minutes(2)),
            ]
        )

    async with sessions() as session:
        snapshot = await read_queue_snapshot(session, now)

    assert [(h.skill, h.priority) for h in snapshot.waiting] == [
        (Skill.BILLING, Priority.NORMAL)
    ]
    assert snapshot.agents == [
        OnlineAgent(
            frozenset({Skill.BILLING, Skill.TECHNICAL}), 3, {Skill.TECHNICAL: 1}
        )
    ]
    assert snapshot.handle_seconds == {Skill.BILLING: [720.0]}
    half_hour = 30 * 60
    assert snapshot.arrivals_per_second == {
        (Skill.BILLING, Priority.NORMAL): 2 / half_hour,
        (Skill.TECHNICAL, Priority.NORMAL): 1 / half_hour,
    }
    # One gave up, over 10 + 5 + 10 + 2 minutes waited in the half hour.
    assert snapshot.give_ups_per_waiting_second == pytest.approx(1 / (27 * 60))


async def test_the_message_is_kept_when_rasa_cannot_take_the_acknowledgement(
    client: Client, rasa: StandInRasa, tokens: Any
) -> None:
    handoff = await create(client, "c0ffee")
    rasa.status = 503

    await write(client, "여보세요", 1732290001.0)

    detail = await (
        await client.get(f"/api/handoffs/{handoff['id']}", headers=tokens["mina"])
    ).json()
    assert [m["text"] for m in detail["messages"]] == ["여보세요"]
    assert notices_to(rasa, "c0ffee") == [ACK_KO]  # tried once
