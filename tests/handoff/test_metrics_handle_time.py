"""Handle time split by who held the conversation, on SQLite and PostgreSQL.

Known rows (Seoul time, 20 November 2026; every step as the state machine
records it in ``handoff_transitions``, with the owner after it):

- t1: 10:01 Mina claims, 10:06 she transfers it to Joon, 10:13 Joon closes it:
  Mina 300 s, Joon 420 s.
- t2: 11:00:30 Joon claims, 11:02:30 he releases it to the queue, 11:03:30 Mina
  claims, 11:07:10 she closes it: Joon 120 s, Mina 220 s.
- t3: 12:01 Mina claims; still open, so nobody's handle time yet.
- t4: resolved before owners were recorded (no steps): claimed 13:00:10 and
  closed 13:01:50 by Joon, so credited to him: 100 s.

Handle time 720 + 340 + 100 = 1160 s (average 386.7); Mina held two handoffs
for 520 s (260 each), Joon three for 640 s (213.3); 520 + 640 = 1160. The one
minute t2 spent back in the queue is nobody's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import Team
from handoff_testing import BOT_HEADERS, handoff_body
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.queue import state_machine
from handoff.queue.states import HandoffStatus
from handoff.storage.models import Agent, Handoff, HandoffTransition
from handoff.vocabulary import (
    AgentStatus,
    TransitionActor,
    TransitionReason,
)

Client = TestClient[web.Request, web.Application]
SEOUL = timezone(timedelta(hours=9))
QUEUED = HandoffStatus.QUEUED
ASSIGNED = HandoffStatus.ASSIGNED
RESOLVED = HandoffStatus.RESOLVED


def seoul(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 20, hour, minute, second, tzinfo=SEOUL)


def stored_handoff(
    sender_id: str,
    created_at: datetime,
    status: HandoffStatus,
    *,
    agent_id: int | None,
    assigned_at: datetime | None,
    resolved_at: datetime | None = None,
) -> Handoff:
    return Handoff(
        sender_id=sender_id,
        channel="socketio",
        language="ko",
        reason="human_requested",
        status=status,
        context={},
        created_at=created_at,
        assigned_at=assigned_at,
        resolved_at=resolved_at,
        assigned_agent_id=agent_id,
    )


Step = tuple[datetime, HandoffStatus | None, HandoffStatus, int | None]


def steps_of(handoff: Handoff, steps: list[Step]) -> list[HandoffTransition]:
    return [
        HandoffTransition(
            handoff_id=handoff.id,
            from_status=source,
            to_status=target,
            actor=TransitionActor.BOT if source is None else TransitionActor.AGENT,
            reason=TransitionReason.REQUESTED,
            assigned_agent_id=owner,
            created_at=at,
        )
        for at, source, target, owner in steps
    ]


@pytest.fixture
async def known_rows(sessions: async_sessionmaker[AsyncSession], team: Team) -> None:
    mina, joon = team.mina.id, team.joon.id
    t1 = stored_handoff(
        "t1", seoul(10), RESOLVED, agent_id=joon, assigned_at=seoul(10, 1),
        resolved_at=seoul(10, 13),
    )  # fmt: skip
    t2 = stored_handoff(
        "t2", seoul(11), RESOLVED, agent_id=mina, assigned_at=seoul(11, 3, 30),
        resolved_at=seoul(11, 7, 10),
    )  # fmt: skip
    t3 = stored_handoff(
        "t3", seoul(12), ASSIGNED, agent_id=mina, assigned_at=seoul(12, 1)
    )
    t4 = stored_handoff(
        "t4", seoul(13), RESOLVED, agent_id=joon, assigned_at=seoul(13, 0, 10),
        resolved_at=seoul(13, 1, 50),
    )  # fmt: skip
    async with sessions.begin() as session:
        session.add_all([t1, t2, t3, t4])
    async with sessions.begin() as session:
        session.add_all(
            [
                *steps_of(
                    t1,
                    [
                        (seoul(10), None, QUEUED, None),
                        (seoul(10, 1), QUEUED, ASSIGNED, mina),
                        (seoul(10, 6), ASSIGNED, ASSIGNED, joon),
                        (seoul(10, 13), ASSIGNED, RESOLVED, joon),
                    ],
                ),
                *steps_of(
                    t2,
                    [
                        (seoul(11), None, QUEUED, None),
                        (seoul(11, 0, 30), QUEUED, ASSIGNED, joon),
                        (seoul(11, 2, 30), ASSIGNED, QUEUED, None),
                        (seoul(11, 3, 30), QUEUED, ASSIGNED, mina),
                        (seoul(11, 7, 10), ASSIGNED, RESOLVED, mina),
                    ],
                ),
                *steps_of(
                    t3,
                    [
                        (seoul(12), None, QUEUED, None),
                        (seoul(12, 1), QUEUED, ASSIGNED, mina),
                    ],
                ),
            ]
        )


async def get_report(client: Client, query: str, headers: dict[str, str]) -> Any:
    response = await client.get(f"/api/metrics?{query}", headers=headers)
    assert response.status == 200, await response.text()
    return response


def by_username(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {agent["username"]: agent for agent in report["agents"]}


async def test_each_agent_is_credited_with_the_time_they_held_it(
    client: Client, known_rows: None, tokens: Any
) -> None:
    query = "from=2026-11-20&to=2026-11-20&bucket=day"
    report = await (await get_report(client, query, tokens["sora"])).json()

    totals = report["totals"]
    assert totals["handle_total_seconds"] == 1160.0
    assert totals["handle_avg_seconds"] == 386.7
    agents = by_username(report)
    assert {
        name: (
            agent["handoffs_resolved"],
            agent["handoffs_held"],
            agent["held_seconds"],
            agent["handle_avg_seconds"],
        )
        for name, agent in agents.items()
    } == {"mina": (1, 2, 520.0, 260.0), "joon": (2, 3, 640.0, 213.3)}
    assert sum(agent["held_seconds"] for agent in agents.values()) == 1160.0

    response = await get_report(
        client, f"{query}&format=csv&table=agents", tokens["sora"]
    )
    rows = list(csv.DictReader(io.StringIO((await response.text()).lstrip("\ufeff"))))
    assert {row["username"]: row["held_seconds"] for row in rows} == {
        "mina": "520.0",
        "joon": "640.0",
    }


class Clock:
    """The state machine's clock, moved on by the test between requests."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    # Steps are stamped when the state machine records them; the handoff itself
    # is created at the real time, so the report's period is today.
    clock = Clock(datetime.now(timezone.utc))
    monkeypatch.setattr(state_machine, "utcnow", clock)
    yield clock


async def set_status(
    sessions: async_sessionmaker[AsyncSession], agent: Agent, status: AgentStatus
) -> None:
    async with sessions.begin() as session:
        (await session.get_one(Agent, agent.id)).status = status


async def test_a_transfer_through_the_api_splits_the_handle_time(
    client: Client,
    team: Team,
    tokens: Any,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    # Away: Joon may receive a transfer but gets nothing from the dispatcher.
    await set_status(sessions, team.joon, AgentStatus.AWAY)
    created = await client.post(
        "/api/rasa/handoffs", json=handoff_body("split"), headers=BOT_HEADERS
    )
    assert created.status == 201, await created.text()
    handoff_id = (await created.json())["id"]
    path = f"/api/handoffs/{handoff_id}"

    clock.advance(30)
    assert (await client.post(f"{path}/claim", headers=tokens["mina"])).status == 200
    clock.advance(300)
    transferred = await client.post(
        f"{path}/transfer",
        json={"to_agent_id": team.joon.id, "note": "요금 이의 — 부탁해요"},
        headers=tokens["mina"],
    )
    assert transferred.status == 200, await transferred.text()
    clock.advance(420)
    closed = await client.post(f"{path}/close", headers=tokens["joon"])
    assert closed.status == 200, await closed.text()

    async with sessions() as session:
        steps = (
            await session.scalars(
                select(HandoffTransition)
                .where(HandoffTransition.handoff_id == handoff_id)
                .order_by(HandoffTransition.id)
            )
        ).all()
    assert [
        (step.from_status, step.to_status, step.reason, step.assigned_agent_id)
        for step in steps
    ] == [
        (None, QUEUED, TransitionReason.REQUESTED, None),
        (QUEUED, ASSIGNED, TransitionReason.CLAIMED, team.mina.id),
        # The change of owner is a step of its own.
        (ASSIGNED, ASSIGNED, TransitionReason.TRANSFERRED, team.joon.id),
        (ASSIGNED, RESOLVED, TransitionReason.CLOSED, team.joon.id),
    ]
    assert steps[2].agent_id == team.mina.id

    today = datetime.now(SEOUL).date()
    query = f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    report = await (await get_report(client, query, tokens["sora"])).json()
    agents = by_username(report)
    assert (agents["mina"]["held_seconds"], agents["mina"]["handoffs_resolved"]) == (
        300.0,
        0,
    )
    assert (agents["joon"]["held_seconds"], agents["joon"]["handoffs_resolved"]) == (
        420.0,
        1,
    )
    assert report["totals"]["handle_total_seconds"] == 720.0
    assert report["totals"]["handle_avg_seconds"] == 720.0
