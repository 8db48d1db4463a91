"""The supervisors' numbers per channel: containment, handoffs, ratings and the agent
replies each channel could not deliver, over known rows (Seoul's 20 November).

| sender          | conversation | handoff | rating  | failed replies            |
|-----------------|--------------|---------|---------|---------------------------|
| web c1          | 10:00        | 10:05   | agent 5 |                           |
| web c2          | 11:00, bot   |         | bot 4   |                           |
| telegram:1      | 12:00        | 12:05   | agent 2 | platform_error            |
| telegram:2      | 12:30, bot   |         |         |                           |
| telegram:3      | 13:00, bot   |         | bot 5   |                           |
| whatsapp:+8210… | 14:00        | 14:05   |         | window_closed ×2, blocked |
| sms:+8210…      | 15:00, bot   |         | bot 1   |                           |

A failed reply on 21 November lies outside the period, and a delivered one is no
failure.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.queue.states import HandoffStatus
from handoff.storage.models import (
    Conversation,
    CsatRating,
    Delivery,
    Handoff,
    Message,
    MessageRole,
)
from handoff.vocabulary import DeliveryFailureReason

Client = TestClient[web.Request, web.Application]
SEOUL = timezone(timedelta(hours=9))
WHATSAPP = "whatsapp:+821012345678"
SMS = "sms:+821012345678"


def seoul(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SEOUL)


def reply(
    handoff: Handoff,
    at: datetime,
    reason: DeliveryFailureReason | None,
    *,
    permanent: bool = True,
) -> Message:
    return Message(
        handoff_id=handoff.id,
        role=MessageRole.AGENT,
        text="안녕하세요",
        delivery=Delivery.DELIVERED if reason is None else Delivery.FAILED,
        failure_reason=reason,
        failure_permanent=None if reason is None else permanent,
        created_at=at,
    )


async def add_rows(sessions: async_sessionmaker[AsyncSession]) -> None:
    handoffs = {
        sender: Handoff(
            sender_id=sender,
            channel="twilio",
            language="ko",
            reason="human_requested",
            status=HandoffStatus.RESOLVED,
            context={},
            created_at=at,
        )
        for sender, at in (
            ("c1", seoul(20, 10, 5)),
            ("telegram:1", seoul(20, 12, 5)),
            (WHATSAPP, seoul(20, 14, 5)),
        )
    }
    conversations = [
        Conversation(sender_id=sender, started_at=at, first_message_at=at)
        for sender, at in (
            ("c1", seoul(20, 10)),
            ("c2", seoul(20, 11)),
            ("telegram:1", seoul(20, 12)),
            ("telegram:2", seoul(20, 12, 30)),
            ("telegram:3", seoul(20, 13)),
            (WHATSAPP, seoul(20, 14)),
            (SMS, seoul(20, 15)),
        )
    ]
    async with sessions.begin() as session:
        session.add_all([*handoffs.values(), *conversations])
    failures = DeliveryFailureReason
    async with sessions.begin() as session:
        session.add_all(
            [
                CsatRating(
                    sender_id="c1",
                    score=5,
                    handoff_id=handoffs["c1"].id,
                    created_at=seoul(20, 10, 30),
                ),
                CsatRating(sender_id="c2", score=4, created_at=seoul(20, 11, 5)),
                CsatRating(
                    sender_id="telegram:1",
                    score=2,
                    handoff_id=handoffs["telegram:1"].id,
                    created_at=seoul(20, 12, 30),
                ),
                CsatRating(
                    sender_id="telegram:3", score=5, created_at=seoul(20, 13, 5)
                ),
                CsatRating(sender_id=SMS, score=1, created_at=seoul(20, 15, 5)),
                reply(
                    handoffs["telegram:1"],
                    seoul(20, 12, 10),
                    failures.PLATFORM_ERROR,
                    permanent=False,
                ),
                reply(handoffs["telegram:1"], seoul(20, 12, 11), None),
                reply(handoffs[WHATSAPP], seoul(20, 14, 10), failures.WINDOW_CLOSED),
                reply(handoffs[WHATSAPP], seoul(20, 14, 11), failures.WINDOW_CLOSED),
                reply(handoffs[WHATSAPP], seoul(20, 14, 12), failures.BLOCKED),
                reply(handoffs[WHATSAPP], seoul(21, 9), failures.BLOCKED),
            ]
        )


def zero_failures(**counts: int) -> dict[str, int]:
    return {
        reason.value: counts.get(reason.value, 0) for reason in DeliveryFailureReason
    }


async def test_each_channel_has_its_own_numbers(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await add_rows(sessions)

    response = await client.get(
        "/api/metrics?from=2026-11-20&to=2026-11-20", headers=tokens["sora"]
    )

    assert response.status == 200
    channels = {row["channel"]: row for row in (await response.json())["channels"]}
    assert list(channels) == ["web", "telegram", "whatsapp", "sms", "kakao"]
    assert channels["web"] == {
        "channel": "web",
        "conversations": 2,
        "contained": 1,
        "containment_rate": 0.5,
        "handoffs": 1,
        "csat_bot_count": 1,
        "csat_bot_average": 4.0,
        "csat_agent_count": 1,
        "csat_agent_average": 5.0,
        "csat_satisfied_rate": 1.0,
        "delivery_failures": 0,
        "delivery_failures_by_reason": zero_failures(),
    }
    telegram = channels["telegram"]
    assert (telegram["conversations"], telegram["contained"]) == (3, 2)
    assert telegram["containment_rate"] == 0.6667
    assert (telegram["csat_agent_average"], telegram["csat_bot_average"]) == (2.0, 5.0)
    assert telegram["csat_satisfied_rate"] == 0.5
    assert telegram["delivery_failures_by_reason"] == zero_failures(platform_error=1)
    whatsapp = channels["whatsapp"]
    assert (whatsapp["conversations"], whatsapp["containment_rate"]) == (1, 0.0)
    assert whatsapp["delivery_failures"] == 3
    assert whatsapp["delivery_failures_by_reason"] == zero_failures(
        window_closed=2, blocked=1
    )
    assert (
        channels["sms"]["containment_rate"],
        channels["sms"]["csat_bot_average"],
    ) == (
        1.0,
        1.0,
    )
    assert channels["kakao"]["conversations"] == 0
    assert channels["kakao"]["containment_rate"] is None


async def test_the_channels_table_in_csv(
    client: Client, tokens: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await add_rows(sessions)

    response = await client.get(
        "/api/metrics?from=2026-11-20&to=2026-11-20&format=csv&table=channels",
        headers=tokens["sora"],
    )

    assert response.status == 200
    rows = list(csv.DictReader(io.StringIO((await response.text()).lstrip("\ufeff"))))
    assert [row["channel"] for row in rows] == [
        "web",
        "telegram",
        "whatsapp",
        "sms",
        "kakao",
    ]
    assert {row["channel"]: row["delivery_failures"] for row in rows} == {
        "web": "0",
        "telegram": "1",
        "whatsapp": "3",
        "sms": "0",
        "kakao": "0",
    }
    assert rows[1]["containment_rate"] == "0.6667"
