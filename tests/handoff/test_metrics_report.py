"""The supervisors' report over known rows, with every expected number worked out.

Asia/Seoul is UTC+9: Seoul's 21 November starts at 2026-11-20 15:00 UTC.

Queued handoffs (wait = created → assigned, handle = assigned → resolved):

| id | Seoul time  | wait | handle | outcome   | reason          | skill     | agent |
|----|-------------|------|--------|-----------|-----------------|-----------|-------|
| h1 | 11-20 10:00 | 30   | 300    | resolved  | human_requested | billing   | mina  |
| h2 | 11-20 11:00 | 90   | 600    | resolved  | billing_dispute | billing   | joon  |
| h3 | 11-20 12:00 | –    | –      | abandoned | human_requested | general   | –     |
| h4 | 11-20 13:00 | 45   | –      | assigned  | complex_topic   | technical | mina  |
| h5 | 11-20 23:30 | –    | –      | callback  | after_hours     | general   | –     |
| h6 | 11-21 00:10 | 121  | 200    | resolved  | cancellation    | retention | joon  |
| h7 | 11-21 09:00 | –    | –      | queued    | human_requested | general   | –     |

h5 is an out-of-hours callback: it never queued, so it has no wait and counts in
neither the service level nor the abandonment rate. h0 and h8 lie just outside.

Day 1 waits [30, 90, 45]: average 55, p90 45 + 0.8 × 45 = 81; one abandoned, so
the service level (≤ 60 s) is 2 / 4 and the abandonment rate 1 / 4. Over both
days the waits are [30, 45, 90, 121]: average 71.5, p90 90 + 0.7 × 31 = 111.7,
service level 2 / 5, abandonment 1 / 5; handle times [300, 600, 200] average
366.7, 1100 in all. These rows have no recorded steps, so each handle time is
its closing agent's (test_metrics_handle_time.py splits it by who held it).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import Team
from pytest_aiohttp import AiohttpClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from handoff.app import create_app
from handoff.queue.states import HandoffStatus
from handoff.settings import Settings
from handoff.storage.models import Conversation, CsatRating, Handoff
from handoff.vocabulary import HandoffMode, Skill

Client = TestClient[web.Request, web.Application]
SEOUL = timezone(timedelta(hours=9))
PERIOD = "from=2026-11-20&to=2026-11-21"


def seoul(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SEOUL)


def handoff(
    sender_id: str,
    created_at: datetime,
    *,
    reason: str = "human_requested",
    skill: Skill = Skill.GENERAL,
    status: HandoffStatus = HandoffStatus.QUEUED,
    wait: int | None = None,
    handle: int | None = None,
    agent_id: int | None = None,
    mode: HandoffMode = HandoffMode.QUEUE,
) -> Handoff:
    assigned_at = None if wait is None else created_at + timedelta(seconds=wait)
    resolved_at = (
        None
        if assigned_at is None or handle is None
        else assigned_at + timedelta(seconds=handle)
    )
    return Handoff(
        sender_id=sender_id,
        channel="socketio",
        language="ko",
        reason=reason,
        status=status,
        context={},
        created_at=created_at,
        assigned_at=assigned_at,
        resolved_at=resolved_at,
        assigned_agent_id=agent_id,
        mode=mode,
        skill=skill,
    )


def conversation(
    sender_id: str, started_at: datetime, first_message_after: int | None = 10
) -> Conversation:
    return Conversation(
        sender_id=sender_id,
        started_at=started_at,
        first_message_at=(
            None
            if first_message_after is None
            else started_at + timedelta(seconds=first_message_after)
        ),
        language="ko",
        channel="socketio",
    )


@pytest.fixture
async def known_rows(
    sessions: async_sessionmaker[AsyncSession], team: Team
) -> dict[str, Handoff]:
    mina, joon = team.mina.id, team.joon.id
    resolved = HandoffStatus.RESOLVED
    handoffs = {
        "h0": handoff("h0", seoul(19, 23, 59, 59), status=HandoffStatus.ABANDONED),
        "h1": handoff(
            "s1",
            seoul(20, 10),
            skill=Skill.BILLING,
            status=resolved,
            wait=30,
            handle=300,
            agent_id=mina,
        ),
        "h2": handoff(
            "h2",
            seoul(20, 11),
            reason="billing_dispute",
            skill=Skill.BILLING,
            status=resolved,
            wait=90,
            handle=600,
            agent_id=joon,
        ),
        "h3": handoff("s3", seoul(20, 12), status=HandoffStatus.ABANDONED),
        "h4": handoff(
            "h4",
            seoul(20, 13),
            reason="complex_topic",
            skill=Skill.TECHNICAL,
            status=HandoffStatus.ASSIGNED,
            wait=45,
            agent_id=mina,
        ),
        "h5": handoff(
            "h5",
            seoul(20, 23, 30),
            reason="after_hours",
            status=HandoffStatus.OFFLINE,
            mode=HandoffMode.CALLBACK,
        ),
        "h6": handoff(
            "s6",
            seoul(21, 0, 10),
            reason="cancellation",
            skill=Skill.RETENTION,
            status=resolved,
            wait=121,
            handle=200,
            agent_id=joon,
        ),
        "h7": handoff("h7", seoul(21, 9)),
        "h8": handoff("h8", seoul(22, 0)),
    }
    conversations = [
        conversation("s1", seoul(20, 9, 59)),  # handed off by h1
        conversation("s2", seoul(20, 10, 30)),  # the bot alone
        conversation("s1", seoul(20, 15)),  # s1 again, after h1: the bot alone
        conversation("s3", seoul(20, 11, 59)),  # handed off by h3
        conversation("s5", seoul(20, 16), first_message_after=None),  # never wrote
        conversation("s6", seoul(21, 0, 5)),  # handed off by h6
        conversation("s9", seoul(19, 23, 0)),  # before the period
    ]
    async with sessions.begin() as session:
        session.add_all([*handoffs.values(), *conversations])
    ratings = [
        (handoffs["h1"].id, mina, 5, seoul(20, 10, 10), None),
        (handoffs["h2"].id, joon, 2, seoul(20, 11, 20), "너무 오래 기다렸어요"),
        (None, None, 4, seoul(20, 10, 40), None),
        (handoffs["h6"].id, joon, 4, seoul(21, 0, 20), None),
        (None, None, 3, seoul(21, 8), "=1+1 the bot kept asking"),
        (None, None, 1, seoul(22, 8), "after the period"),
    ]
    async with sessions.begin() as session:
        session.add_all(
            CsatRating(
                sender_id="someone",
                handoff_id=handoff_id,
                agent_id=agent_id,
                score=score,
                created_at=created_at,
                comment=comment,
            )
            for handoff_id, agent_id, score, created_at, comment in ratings
        )
    return handoffs


async def get_report(client: Client, query: str, headers: dict[str, str]) -> Any:
    response = await client.get(f"/api/metrics?{query}", headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_daily_numbers_match_the_hand_computed_ones(
    client: Client, known_rows: dict[str, Handoff], tokens: Any
) -> None:
    report = await get_report(client, f"{PERIOD}&bucket=day", tokens["sora"])

    assert report["from"] == "2026-11-20"
    assert report["to"] == "2026-11-21"
    assert report["time_zone"] == "Asia/Seoul"
    assert report["service_level_seconds"] == 60
    first, second = report["buckets"]
    assert first["start"] == "2026-11-20T00:00:00+09:00"
    assert second["start"] == "2026-11-21T00:00:00+09:00"
    assert first == {
        "start": "2026-11-20T00:00:00+09:00",
        "conversations": 4,
        "contained": 2,
        "handed_off": 2,
        "containment_rate": 0.5,
        "handoffs": 5,
        "answered": 3,
        "abandoned": 1,
        "abandonment_rate": 0.25,
        "service_level": 0.5,
        "wait_avg_seconds": 55.0,
        "wait_p90_seconds": 81.0,
        "handle_avg_seconds": 450.0,
        "handle_total_seconds": 900.0,
        "csat_bot_count": 1,
        "csat_bot_average": 4.0,
        "csat_agent_count": 2,
        "csat_agent_average": 3.5,
        "csat_satisfied_rate": 0.6667,
        "reasons": {
            "human_requested": 2,
            "billing_dispute": 1,
            "complex_topic": 1,
            "after_hours": 1,
        },
        "skills": {"billing": 2, "general": 2, "technical": 1},
    }
    assert second == {
        "start": "2026-11-21T00:00:00+09:00",
        "conversations": 1,
        "contained": 0,
        "handed_off": 1,
        "containment_rate": 0.0,
        "handoffs": 2,
        "answered": 1,
        "abandoned": 0,
        "abandonment_rate": 0.0,
        "service_level": 0.0,
        "wait_avg_seconds": 121.0,
        "wait_p90_seconds": 121.0,
        "handle_avg_seconds": 200.0,
        "handle_total_seconds": 200.0,
        "csat_bot_count": 1,
        "csat_bot_average": 3.0,
        "csat_agent_count": 1,
        "csat_agent_average": 4.0,
        "csat_satisfied_rate": 0.5,
        "reasons": {"cancellation": 1, "human_requested": 1},
        "skills": {"retention": 1, "general": 1},
    }


async def test_totals_are_computed_over_all_rows_not_from_buckets(
    client: Client, known_rows: dict[str, Handoff], tokens: Any, team: Team
) -> None:
    report = await get_report(client, PERIOD, tokens["sora"])

    assert report["totals"] == {
        "conversations": 5,
        "contained": 2,
        "handed_off": 3,
        "containment_rate": 0.4,
        "handoffs": 7,
        "answered": 4,
        "abandoned": 1,
        "abandonment_rate": 0.2,
        "service_level": 0.4,
        "wait_avg_seconds": 71.5,
        "wait_p90_seconds": 111.7,
        "handle_avg_seconds": 366.7,
        "handle_total_seconds": 1100.0,
        "csat_bot_count": 2,
        "csat_bot_average": 3.5,
        "csat_agent_count": 3,
        "csat_agent_average": 3.67,
        "csat_satisfied_rate": 0.6,
    }
    assert report["reasons"][0] == {"reason": "human_requested", "handoffs": 3}
    assert {row["reason"]: row["handoffs"] for row in report["reasons"]} == {
        "human_requested": 3,
        "billing_dispute": 1,
        "complex_topic": 1,
        "after_hours": 1,
        "cancellation": 1,
    }
    assert {row["skill"]: row["handoffs"] for row in report["skills"]} == {
        "general": 3,
        "billing": 2,
        "technical": 1,
        "retention": 1,
    }
    assert report["agents"] == [
        {
            "agent_id": team.mina.id,
            "username": "mina",
            "display_name": "Mina Kim",
            "handoffs_resolved": 1,
            "handoffs_held": 1,
            "held_seconds": 300.0,
            "handle_avg_seconds": 300.0,
            "csat_count": 1,
            "csat_average": 5.0,
        },
        {
            "agent_id": team.joon.id,
            "username": "joon",
            "display_name": "Joon Park",
            "handoffs_resolved": 2,
            "handoffs_held": 2,
            "held_seconds": 800.0,
            "handle_avg_seconds": 400.0,
            "csat_count": 2,
            "csat_average": 3.0,
        },
    ]


async def test_hourly_buckets_cover_every_hour_of_the_day(
    client: Client, known_rows: dict[str, Handoff], tokens: Any
) -> None:
    report = await get_report(
        client, "from=2026-11-21&to=2026-11-21&bucket=hour", tokens["sora"]
    )

    buckets = report["buckets"]
    assert len(buckets) == 24
    assert buckets[0]["start"] == "2026-11-21T00:00:00+09:00"
    assert buckets[23]["start"] == "2026-11-21T23:00:00+09:00"
    handoffs_by_hour = {b["start"][11:13]: b["handoffs"] for b in buckets}
    assert handoffs_by_hour["00"] == 1
    assert handoffs_by_hour["09"] == 1
    assert sum(handoffs_by_hour.values()) == 2
    assert buckets[1]["wait_p90_seconds"] is None
    assert buckets[1]["containment_rate"] is None


async def test_days_follow_the_configured_time_zone(
    aiohttp_client: AiohttpClient,
    settings: Settings,
    engine: AsyncEngine,
    known_rows: dict[str, Handoff],
    tokens: Any,
) -> None:
    utc_client = await aiohttp_client(
        create_app(
            dataclasses.replace(settings, time_zone="UTC", service_level_seconds=30)
        )
    )

    report = await get_report(utc_client, PERIOD, tokens["sora"])

    first, second = report["buckets"]
    assert first["start"] == "2026-11-20T00:00:00+00:00"
    # h6 (Seoul 00:10 on the 21st) is still the 20th in UTC, and h8 (Seoul
    # midnight on the 22nd) is the 21st; h0 stays outside on the 19th.
    assert first["handoffs"] == 6
    assert second["handoffs"] == 2
    # Only h1's 30 s wait is within a 30 s target, of h1–h4 and h6.
    assert report["totals"]["service_level"] == 0.2


async def test_csv_export_has_the_same_numbers(
    client: Client, known_rows: dict[str, Handoff], tokens: Any
) -> None:
    as_json = await get_report(client, PERIOD, tokens["sora"])

    for query, headers in (
        (f"{PERIOD}&format=csv", tokens["sora"]),
        (PERIOD, {**tokens["sora"], "Accept": "text/csv"}),
    ):
        response = await client.get(f"/api/metrics?{query}", headers=headers)
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert response.charset == "utf-8"
        assert (
            response.headers["Content-Disposition"]
            == 'attachment; filename="tandem-buckets-day-2026-11-20-2026-11-21.csv"'
        )
        rows = list(
            csv.DictReader(io.StringIO((await response.text()).lstrip("\ufeff")))
        )
        assert [row["bucket_start"] for row in rows] == [
            bucket["start"] for bucket in as_json["buckets"]
        ]
        assert rows[0]["wait_p90_seconds"] == "81.0"
        assert rows[0]["handoffs"] == "5"
        assert rows[1]["csat_agent_average"] == "4.0"


@pytest.mark.parametrize(
    ("table", "header", "first_row"),
    [
        (
            "reasons",
            ["bucket_start", "reason", "handoffs"],
            ["2026-11-20T00:00:00+09:00", "after_hours", "1"],
        ),
        (
            "skills",
            ["bucket_start", "skill", "handoffs"],
            ["2026-11-20T00:00:00+09:00", "billing", "2"],
        ),
    ],
)
async def test_csv_export_of_the_breakdowns(
    client: Client,
    known_rows: dict[str, Handoff],
    tokens: Any,
    table: str,
    header: list[str],
    first_row: list[str],
) -> None:
    response = await client.get(
        f"/api/metrics?{PERIOD}&format=csv&table={table}", headers=tokens["sora"]
    )

    assert response.status == 200
    rows = list(csv.reader(io.StringIO((await response.text()).lstrip("\ufeff"))))
    assert rows[0] == header
    assert rows[1] == first_row
    assert sum(int(row[2]) for row in rows[1:]) == 7


async def test_csv_export_of_agents_neutralises_formulas(
    client: Client,
    known_rows: dict[str, Handoff],
    tokens: Any,
    team: Team,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        mina = await session.get_one(type(team.mina), team.mina.id)
        mina.display_name = '=HYPERLINK("http://evil")'

    response = await client.get(
        f"/api/metrics?{PERIOD}&format=csv&table=agents", headers=tokens["sora"]
    )

    rows = list(csv.reader(io.StringIO((await response.text()).lstrip("\ufeff"))))
    assert rows[0][:3] == ["agent_id", "username", "display_name"]
    assert rows[1][1:4] == ["mina", '\'=HYPERLINK("http://evil")', "1"]


async def test_the_latest_comments_come_with_score_reason_and_agent(
    client: Client, known_rows: dict[str, Handoff], tokens: Any, team: Team
) -> None:
    report = await get_report(client, PERIOD, tokens["sora"])

    assert report["comments"] == [
        {
            "rated_at": "2026-11-20T23:00:00+00:00",
            "score": 3,
            "comment": "=1+1 the bot kept asking",
            "handoff_id": None,
            "reason": None,
            "agent_id": None,
            "agent_display_name": None,
        },
        {
            "rated_at": "2026-11-20T02:20:00+00:00",
            "score": 2,
            "comment": "너무 오래 기다렸어요",
            "handoff_id": known_rows["h2"].id,
            "reason": "billing_dispute",
            "agent_id": team.joon.id,
            "agent_display_name": team.joon.display_name,
        },
    ]


async def test_csv_export_of_every_rating_newest_first(
    client: Client, known_rows: dict[str, Handoff], tokens: Any, team: Team
) -> None:
    response = await client.get(
        f"/api/metrics?{PERIOD}&format=csv&table=ratings", headers=tokens["sora"]
    )

    assert response.status == 200
    rows = list(csv.reader(io.StringIO((await response.text()).lstrip("\ufeff"))))
    assert rows[0] == [
        "rated_at",
        "score",
        "comment",
        "handoff_id",
        "reason",
        "agent_id",
        "agent_display_name",
    ]
    assert [row[1] for row in rows[1:]] == ["3", "4", "2", "4", "5"]
    # A comment is the customer's text: a spreadsheet must not run it.
    assert rows[1][2] == "'=1+1 the bot kept asking"
    assert rows[3][2:5] == [
        "너무 오래 기다렸어요",
        str(known_rows["h2"].id),
        "billing_dispute",
    ]
    assert rows[3][6] == team.joon.display_name


async def test_every_csv_file_gives_its_times_with_the_business_offset(
    client: Client, known_rows: dict[str, Handoff], tokens: Any
) -> None:
    moment = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?$")
    offsets: dict[str, set[str]] = {}
    for table in ("buckets", "reasons", "skills", "agents", "ratings"):
        for bucket in ("day", "hour"):
            response = await client.get(
                f"/api/metrics?{PERIOD}&bucket={bucket}&format=csv&table={table}",
                headers=tokens["sora"],
            )
            assert response.status == 200
            text = (await response.text()).lstrip("\ufeff")
            for row in list(csv.reader(io.StringIO(text)))[1:]:
                for cell in row:
                    found = moment.match(cell)
                    if found:
                        offsets.setdefault(table, set()).add(found.group(2) or "")

    # Ratings as well as buckets: one zone, the supervisors' own, in every file.
    assert {"buckets", "reasons", "skills", "ratings"} <= offsets.keys()
    assert set().union(*offsets.values()) == {"+09:00"}


async def test_a_rating_s_time_in_the_csv_is_the_one_the_api_gives(
    client: Client, known_rows: dict[str, Handoff], tokens: Any
) -> None:
    response = await client.get(
        f"/api/metrics?{PERIOD}&format=csv&table=ratings", headers=tokens["sora"]
    )
    rows = list(csv.reader(io.StringIO((await response.text()).lstrip("\ufeff"))))
    report = await get_report(client, PERIOD, tokens["sora"])

    newest_in_csv = datetime.fromisoformat(rows[1][0])
    newest_in_api = datetime.fromisoformat(report["comments"][0]["rated_at"])
    assert rows[1][0] == "2026-11-21T08:00:00+09:00"
    assert newest_in_csv == newest_in_api
