"""Queue timeouts, no-reply flags, wait updates, cancel phrases and the wait
estimate, with the sweeper run at chosen times."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

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
from handoff.queue.states import HandoffStatus
from handoff.settings import Settings
from handoff.storage.models import Handoff, utcnow
from handoff.vocabulary import Resolution, Skill

Client = TestClient[web.Request, web.Application]


async def create(client: Client, sender_id: str = "c0ffee", **fields: Any) -> Any:
    response = await client.post(
        "/api/rasa/handoffs",
        json=handoff_body(sender_id, **fields),
        headers=BOT_HEADERS,
    )
    assert response.status == 201, await response.text()
    return await response.json()


async def load(sessions: async_sessionmaker[AsyncSession], handoff_id: int) -> Handoff:
    async with sessions() as session:
        return await session.get_one(Handoff, handoff_id)


async def test_a_silent_queued_customer_is_abandoned_and_the_bot_resumed(
    client: Client, sessions: async_sessionmaker[AsyncSession], rasa: StandInRasa
) -> None:
    quiet = await create(client, "quiet")
    talking = await create(client, "talking")
    async with sessions.begin() as session:
        for handoff_id in (quiet["id"], talking["id"]):
            waiting = await session.get_one(Handoff, handoff_id)
            waiting.last_customer_activity_at = utcnow() - timedelta(minutes=20)
    await client.post(
        "/api/rasa/events",
        json={"events": [user_event("talking", "아직이에요?", 1732290100.0)]},
        headers=BOT_HEADERS,
    )

    result = await client.app[SWEEPER].sweep()
    again = await client.app[SWEEPER].sweep()

    assert result.abandoned == [quiet["id"]]
    assert again.abandoned == []
    gone = await load(sessions, quiet["id"])
    assert (gone.status, gone.resolution) == (
        HandoffStatus.ABANDONED,
        Resolution.TIMED_OUT,
    )
    assert (await load(sessions, talking["id"])).status is HandoffStatus.QUEUED
    resumes = [request for request in rasa.requests if "/quiet/" in request.path]
    assert resumes[0].body == [
        {"event": "resume"},
        {"event": "action", "name": "action_listen"},
    ]


async def test_an_unanswered_customer_is_flagged_until_the_agent_replies(
    client: Client, sessions: async_sessionmaker[AsyncSession], tokens: Any
) -> None:
    handoff = await create(client)
    await client.post(f"/api/handoffs/{handoff['id']}/claim", headers=tokens["mina"])

    early = await client.app[SWEEPER].sweep(utcnow() + timedelta(minutes=2))
    late = await client.app[SWEEPER].sweep(utcnow() + timedelta(minutes=3, seconds=1))
    again = await client.app[SWEEPER].sweep(utcnow() + timedelta(minutes=5))

    assert (early.flagged, late.flagged, again.flagged) == ([], [handoff["id"]], [])
    listed = await (await client.get("/api/handoffs", headers=tokens["sora"])).json()
    assert listed["handoffs"][0]["flagged_at"] is not None
    await client.post(
        f"/api/handoffs/{handoff['id']}/messages",
        json={"text": "기다려 주셔서 감사합니다"},
        headers=tokens["mina"],
    )
    answered = await load(sessions, handoff["id"])
    assert answered.flagged_at is None
    assert answered.awaiting_agent_since is None
    # The customer writes again: the clock starts once more.
    await client.post(
        "/api/rasa/events",
        json={"events": [user_event(timestamp=1732290500.0)]},
        headers=BOT_HEADERS,
    )
    assert (await load(sessions, handoff["id"])).awaiting_agent_since is not None


async def test_flags_reach_supervisors_and_the_assignee_only(
    client: Client, tokens: Any
) -> None:
    handoff = await create(client)
    await client.post(f"/api/handoffs/{handoff['id']}/claim", headers=tokens["mina"])
    sockets = {}
    for name in ("mina", "joon", "sora"):
        token = tokens[name]["Authorization"].removeprefix("Bearer ")
        sockets[name] = await client.ws_connect(f"/api/ws?token={token}")
        await expect_ready(sockets[name])

    await client.app[SWEEPER].sweep(utcnow() + timedelta(minutes=4))

    for name in ("mina", "sora"):
        frame = await sockets[name].receive_json(timeout=5)
        assert frame["type"] == "handoff.flagged"
        assert frame["handoff"]["id"] == handoff["id"]
    try:
        unexpected = await sockets["joon"].receive_json(timeout=0.3)
    except TimeoutError:
        unexpected = None
    assert unexpected is None
    for socket in sockets.values():
        await socket.close()


async def test_wait_updates_are_sent_when_the_position_changes_at_most_once_a_minute(
    client: Client, tokens: Any, rasa: StandInRasa
) -> None:
    first = await create(client, "first")
    second = await create(client, "second", language="en")
    assert second["queue_position"] == 2
    nothing_new = await client.app[SWEEPER].sweep(utcnow() + timedelta(minutes=2))
    assert nothing_new.notified == []

    await client.post(f"/api/handoffs/{first['id']}/claim", headers=tokens["mina"])
    too_soon = await client.app[SWEEPER].sweep(utcnow() + timedelta(seconds=30))
    told = await client.app[SWEEPER].sweep(utcnow() + timedelta(minutes=1, seconds=1))
    repeated = await client.app[SWEEPER].sweep(utcnow() + timedelta(minutes=3))

    assert (too_soon.notified, told.notified, repeated.notified) == (
        [],
        [second["id"]],
        [],
    )
    notices = [request for request in rasa.requests if "/second/" in request.path]
    assert len(notices) == 1
    assert notices[0].body["event"] == "bot"
    # Nobody is online: the wait is unknown, and the update says so.
    assert notices[0].body["text"] == (
        "You are number 1 in the queue. The expected wait is unknown right now. "
        "Send 'cancel' to stop waiting."
    )
    assert notices[0].query["output_channel"] == "latest"


async def test_a_cancel_phrase_leaves_the_queue_and_hands_back_to_the_bot(
    client: Client, sessions: async_sessionmaker[AsyncSession], rasa: StandInRasa
) -> None:
    handoff = await create(client)

    response = await client.post(
        "/api/rasa/events",
        json={"events": [user_event(text=" 대기 취소!")]},
        headers=BOT_HEADERS,
    )

    assert (await response.json())["accepted"] == 1
    cancelled = await load(sessions, handoff["id"])
    assert (cancelled.status, cancelled.resolution) == (
        HandoffStatus.ABANDONED,
        Resolution.CUSTOMER_CANCELLED,
    )
    paths = [request.path for request in rasa.requests]
    assert paths == [
        "/conversations/c0ffee/tracker/events",
        "/conversations/c0ffee/trigger_intent",
    ]
    assert rasa.requests[0].body[1] == {"event": "action", "name": "action_listen"}
    assert rasa.requests[1].body == {
        "name": "EXTERNAL_handoff_cancelled",
        "entities": {"handoff_id": handoff["id"]},
    }


async def test_cancel_words_inside_a_sentence_or_after_assignment_do_not_cancel(
    client: Client, sessions: async_sessionmaker[AsyncSession], tokens: Any
) -> None:
    handoff = await create(client)
    await client.post(
        "/api/rasa/events",
        json={"events": [user_event(text="요금제 취소하고 싶어요")]},
        headers=BOT_HEADERS,
    )
    assert (await load(sessions, handoff["id"])).status is HandoffStatus.QUEUED
    await client.post(f"/api/handoffs/{handoff['id']}/claim", headers=tokens["mina"])
    await client.post(
        "/api/rasa/events",
        json={"events": [user_event(text="cancel", timestamp=1732290300.0)]},
        headers=BOT_HEADERS,
    )
    assert (await load(sessions, handoff["id"])).status is HandoffStatus.ASSIGNED


async def test_the_wait_estimate_follows_the_observed_handling_rate(
    client: Client, sessions: async_sessionmaker[AsyncSession], agent_password_hash: str
) -> None:
    assert (await create(client, "nohistory", skill="billing"))[
        "estimated_wait_seconds"
    ] is None
    now = utcnow()
    async with sessions.begin() as session:
        for index, minutes in enumerate((4, 6, 20)):
            session.add(
                Handoff(
                    sender_id=f"past{index}",
                    channel="socketio",
                    language="ko",
                    reason="human_requested",
                    status=HandoffStatus.RESOLVED,
                    context={},
                    skill=Skill.BILLING,
                    created_at=now - timedelta(hours=1),
                    assigned_at=now - timedelta(minutes=minutes + 5),
                    resolved_at=now - timedelta(minutes=5),
                    last_customer_activity_at=now,
                )
            )
    # Two agents, each full: four slots, none free.
    for name in ("a", "b"):
        await add_agent(
            sessions, agent_password_hash, name, skills=[Skill.BILLING], capacity=2
        )
    for index in range(3):
        await create(client, f"busy{index}", skill="billing")

    waiting = await create(client, "waiting", skill="billing")
    after = await create(client, "after", skill="billing")

    # "nohistory" and the three others fill the four slots. Handle times of 4, 6
    # and 20 minutes: the four busy slots free up one per 150 s (the mean, not
    # the median: one long conversation holds a slot as long as three short
    # ones). Position 1 needs the first slot to free up, position 2 the second:
    # the medians of those times, 0.70 and 1.69 × 150 s.
    assert waiting["queue_position"] == 1
    assert waiting["estimated_wait_seconds"] == 105
    assert after["estimated_wait_seconds"] == 253


async def test_the_sweeper_runs_by_itself_in_the_application(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    quick = Settings(
        **{**settings.__dict__, "queue_abandon_seconds": 1, "sweep_interval_seconds": 1}
    )
    client = await aiohttp_client(create_app(quick))
    handoff = await create(client)

    for _ in range(50):
        if (await load(sessions, handoff["id"])).status is HandoffStatus.ABANDONED:
            break
        await asyncio.sleep(0.1)
    assert (await load(sessions, handoff["id"])).status is HandoffStatus.ABANDONED
