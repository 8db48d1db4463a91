"""Group commit: units that arrive together share a transaction, and keep their
own results; concurrent event batches are each answered as if alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from handoff_testing import BOT_HEADERS, handoff_body, user_event
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.queue.states import HandoffStatus
from handoff.realtime.group_commit import Coalescer, GroupCommitter
from handoff.storage.models import MESSAGES, Handoff, Message, MessageRole, utcnow

Client = TestClient[web.Request, web.Application]


async def a_handoff(sessions: async_sessionmaker[AsyncSession]) -> int:
    handoff = Handoff(
        sender_id="c0ffee",
        channel="socketio",
        language="ko",
        reason="human_requested",
        status=HandoffStatus.QUEUED,
        context={},
        last_customer_activity_at=utcnow(),
    )
    async with sessions.begin() as session:
        session.add(handoff)
    return handoff.id


def storing(handoff_id: int, text: str, fail: bool = False) -> Any:
    async def work(session: AsyncSession) -> int:
        connection = await session.connection()
        message_id = await connection.scalar(
            insert(MESSAGES)
            .values(
                handoff_id=handoff_id,
                role=MessageRole.USER,
                text=text,
                created_at=utcnow(),
            )
            .returning(MESSAGES.c.id)
        )
        if fail:
            raise ValueError(f"{text} is refused")
        return int(message_id)

    return work


async def stored_texts(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(Message.text).order_by(Message.id)))


async def test_units_that_arrive_together_share_one_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    committer = GroupCommitter(sessions)
    handoff_id = await a_handoff(sessions)

    ids = await asyncio.gather(
        *(committer.run(storing(handoff_id, f"m{n}")) for n in range(20))
    )

    assert committer.groups == 1
    assert len(set(ids)) == 20
    assert await stored_texts(sessions) == [f"m{n}" for n in range(20)]


async def test_a_failing_unit_fails_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    committer = GroupCommitter(sessions)
    handoff_id = await a_handoff(sessions)
    units = [storing(handoff_id, f"m{n}", fail=n == 3) for n in range(6)]

    results = await asyncio.gather(
        *(committer.run(unit) for unit in units), return_exceptions=True
    )

    assert isinstance(results[3], ValueError)
    assert all(isinstance(result, int) for i, result in enumerate(results) if i != 3)
    # Nothing of the failed unit is kept; everything of the others is, once.
    assert await stored_texts(sessions) == ["m0", "m1", "m2", "m4", "m5"]


async def test_alone_a_unit_waits_for_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    committer = GroupCommitter(sessions)
    handoff_id = await a_handoff(sessions)

    for n in range(3):
        await committer.run(storing(handoff_id, f"m{n}"))

    assert committer.groups == 3


async def post_events(client: Client, events: list[dict[str, Any]]) -> dict[str, int]:
    response = await client.post(
        "/api/rasa/events", json={"events": events}, headers=BOT_HEADERS
    )
    assert response.status == 202, await response.text()
    counts = await response.json()
    assert counts.pop("dead_lettered") == []
    return dict(counts)


@pytest.mark.parametrize("copies", [2, 5])
async def test_concurrent_batches_keep_their_own_counts_and_store_once(
    client: Client, sessions: async_sessionmaker[AsyncSession], copies: int
) -> None:
    senders = ["alpha", "bravo", "charlie"]
    for sender_id in senders:
        response = await client.post(
            "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
        )
        assert response.status == 201
    batches = [
        [
            user_event(sender_id, f"{sender_id} {n}", 1732290001.0 + n)
            for sender_id in senders
        ]
        + [user_event("nobody", "no handoff", 1732290001.0 + n)]
        for n in range(10)
    ]

    # Every batch is posted several times at once, as a retrying broker might.
    answers = await asyncio.gather(
        *(post_events(client, batch) for batch in batches for _ in range(copies))
    )

    for answer in answers:
        assert answer["ignored"] == 1
        assert answer["accepted"] + answer["duplicates"] == len(senders)
    by_batch = [answers[i * copies : (i + 1) * copies] for i in range(len(batches))]
    for copies_of_one in by_batch:
        assert sum(answer["accepted"] for answer in copies_of_one) == len(senders)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 30
        texts = set(await session.scalars(select(Message.text)))
    assert texts == {f"{s} {n}" for s in senders for n in range(10)}


async def test_a_cancel_phrase_ends_the_handoff_for_the_events_after_it(
    client: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        "/api/rasa/handoffs", json=handoff_body("c0ffee"), headers=BOT_HEADERS
    )
    handoff_id = (await response.json())["id"]

    counts = await post_events(
        client,
        [
            user_event(text="still there?", timestamp=1732290001.0),
            user_event(text="취소", timestamp=1732290002.0),
            user_event(text="hello again", timestamp=1732290003.0),
        ],
    )

    assert counts == {"accepted": 2, "duplicates": 0, "ignored": 1}
    async with sessions() as session:
        handoff = await session.get(Handoff, handoff_id)
        assert handoff is not None and handoff.status is HandoffStatus.ABANDONED


async def test_concurrent_replies_are_stored_and_a_refused_one_fails_alone(
    client: Client,
    tokens: Any,
    rasa: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    handoff_ids = []
    for sender_id, agent in (("alpha", "mina"), ("bravo", "mina"), ("charlie", "joon")):
        response = await client.post(
            "/api/rasa/handoffs", json=handoff_body(sender_id), headers=BOT_HEADERS
        )
        handoff_id = (await response.json())["id"]
        claimed = await client.post(
            f"/api/handoffs/{handoff_id}/claim", headers=tokens[agent]
        )
        assert claimed.status == 200
        handoff_ids.append(handoff_id)
    mine, also_mine, joons = handoff_ids

    async def reply(handoff_id: int, text: str) -> tuple[int, Any]:
        response = await client.post(
            f"/api/handoffs/{handoff_id}/messages",
            json={"text": text},
            headers=tokens["mina"],
        )
        return response.status, await response.json()

    answers = await asyncio.gather(
        *(reply(mine, f"a{n}") for n in range(5)),
        reply(joons, "not mine"),
        *(reply(also_mine, f"b{n}") for n in range(5)),
    )

    statuses = [status for status, _ in answers]
    assert statuses == [201] * 5 + [403] + [201] * 5
    stored = [body for status, body in answers if status == 201]
    assert all(body["delivery"] == "delivered" for body in stored)
    assert len({body["id"] for body in stored}) == 10
    delivered = [
        r.body["text"] for r in rasa.without_notices if r.path.endswith("/events")
    ]
    assert sorted(delivered) == sorted(
        [f"a{n}" for n in range(5)] + [f"b{n}" for n in range(5)]
    )
    async with sessions() as session:
        texts = set(
            await session.scalars(
                select(Message.text).where(Message.role == MessageRole.AGENT)
            )
        )
    assert "not mine" not in texts and len(texts) == 10


async def test_a_coalescer_runs_at_most_its_concurrency_at_once() -> None:
    running = 0
    most = 0
    calls: list[list[int]] = []

    async def handle(items: Sequence[int]) -> list[int]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        calls.append(list(items))
        await asyncio.sleep(0.01)
        running -= 1
        return [item * 10 for item in items]

    coalescer: Coalescer[int, int] = Coalescer(handle, concurrency=2)
    submitted = []
    for n in range(4):
        submitted.append(asyncio.create_task(coalescer.submit(n)))
        # A free slot takes the item at once; with both busy, items wait.
        await asyncio.sleep(0)
    results = await asyncio.gather(*submitted)

    assert results == [0, 10, 20, 30]
    assert most == 2
    assert calls == [[0], [1], [2, 3]]
