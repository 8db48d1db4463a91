"""Every allowed and every refused transition of a handoff, the guarded move that
takes them, its record and its frame."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.errors import InvalidTransition
from handoff.queue import states
from handoff.queue.state_machine import BOT, SWEEPER, Actor, Transitions
from handoff.queue.states import HandoffStatus
from handoff.realtime.live_feed import EVERYONE, Audience, LiveFeed
from handoff.storage.models import Handoff, HandoffTransition
from handoff.vocabulary import TransitionActor, TransitionReason

QUEUED = HandoffStatus.QUEUED
ASSIGNED = HandoffStatus.ASSIGNED
RESOLVED = HandoffStatus.RESOLVED
ABANDONED = HandoffStatus.ABANDONED
OFFLINE = HandoffStatus.OFFLINE

ALLOWED = {
    (QUEUED, ASSIGNED),
    (ASSIGNED, RESOLVED),
    (QUEUED, ABANDONED),
    (ASSIGNED, QUEUED),
    (OFFLINE, RESOLVED),
}
EVERY_PAIR = list(itertools.product(HandoffStatus, repeat=2))


class RecordingFeed(LiveFeed):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[dict[str, Any]] = []

    async def publish(
        self, frame: dict[str, Any], audience: Audience = EVERYONE
    ) -> None:
        self.frames.append(frame)


@pytest.fixture
def feed() -> RecordingFeed:
    return RecordingFeed()


@pytest.fixture
def transitions(
    sessions: async_sessionmaker[AsyncSession], feed: RecordingFeed
) -> Transitions:
    return Transitions(sessions, feed)


def _pair_id(pair: tuple[HandoffStatus, HandoffStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def _handoff(status: HandoffStatus) -> Handoff:
    return Handoff(
        sender_id=f"customer-{status.value}",
        channel="socketio",
        language="ko",
        reason="human_requested",
        status=status,
        context={},
    )


async def _opened(transitions: Transitions, status: HandoffStatus) -> int:
    async for attempt in transitions.attempts():
        async with attempt as changes:
            handoff = _handoff(status)
            await changes.open(handoff, BOT)
    return handoff.id


async def _history(
    sessions: async_sessionmaker[AsyncSession], handoff_id: int
) -> list[tuple[HandoffStatus | None, HandoffStatus, TransitionActor, int | None]]:
    async with sessions() as session:
        rows = await session.scalars(
            select(HandoffTransition)
            .where(HandoffTransition.handoff_id == handoff_id)
            .order_by(HandoffTransition.id)
        )
        return [
            (row.from_status, row.to_status, row.actor, row.agent_id) for row in rows
        ]


def test_the_table_covers_every_state() -> None:
    assert set(states.ALLOWED_TRANSITIONS) == set(HandoffStatus)


@pytest.mark.parametrize(
    "pair", [pair for pair in EVERY_PAIR if pair in ALLOWED], ids=_pair_id
)
async def test_allowed_transition(
    pair: tuple[HandoffStatus, HandoffStatus],
    sessions: async_sessionmaker[AsyncSession],
    feed: RecordingFeed,
    transitions: Transitions,
) -> None:
    current, target = pair
    handoff_id = await _opened(transitions, current)

    async for attempt in transitions.attempts():
        async with attempt as changes:
            moved = await changes.move(
                handoff_id,
                target,
                by=SWEEPER,
                reason=TransitionReason.TIMED_OUT,
                source=current,
            )
            assert moved is not None
            # Announced only once the transaction has committed.
            assert feed.frames == []

    assert moved.status is target
    assert [frame["handoff"]["status"] for frame in feed.frames] == [target.value]
    assert await _history(sessions, handoff_id) == [
        (None, current, TransitionActor.BOT, None),
        (current, target, TransitionActor.SWEEPER, None),
    ]
    assert states.is_allowed(current, target)
    assert current in states.sources_of(target)


@pytest.mark.parametrize(
    "pair", [pair for pair in EVERY_PAIR if pair not in ALLOWED], ids=_pair_id
)
def test_refused_transition(pair: tuple[HandoffStatus, HandoffStatus]) -> None:
    current, target = pair

    with pytest.raises(InvalidTransition) as refused:
        states.ensure_allowed(current, target)

    assert refused.value.status == 409
    assert refused.value.extra == {"handoff_status": current.value}
    assert not states.is_allowed(current, target)
    assert current not in states.sources_of(target)


async def test_a_move_from_a_state_the_handoff_left_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
    feed: RecordingFeed,
    transitions: Transitions,
) -> None:
    handoff_id = await _opened(transitions, QUEUED)
    async for attempt in transitions.attempts():
        async with attempt as changes:
            await changes.move(
                handoff_id, ABANDONED, by=SWEEPER, reason=TransitionReason.TIMED_OUT
            )

    async for attempt in transitions.attempts():
        async with attempt as changes:
            late = await changes.move(
                handoff_id,
                ASSIGNED,
                by=Actor.agent(1),
                reason=TransitionReason.CLAIMED,
            )

    assert late is None
    assert len(feed.frames) == 1
    assert [step[1] for step in await _history(sessions, handoff_id)] == [
        QUEUED,
        ABANDONED,
    ]


async def test_a_rolled_back_move_is_neither_stored_nor_announced(
    sessions: async_sessionmaker[AsyncSession],
    feed: RecordingFeed,
    transitions: Transitions,
) -> None:
    handoff_id = await _opened(transitions, QUEUED)

    with pytest.raises(RuntimeError):
        async for attempt in transitions.attempts():
            async with attempt as changes:
                await changes.move(
                    handoff_id, ABANDONED, by=SWEEPER, reason=TransitionReason.TIMED_OUT
                )
                raise RuntimeError("the request failed after the move")

    assert feed.frames == []
    assert [step[1] for step in await _history(sessions, handoff_id)] == [QUEUED]


async def test_the_orm_refuses_to_write_a_stored_handoffs_status(
    sessions: async_sessionmaker[AsyncSession], transitions: Transitions
) -> None:
    handoff_id = await _opened(transitions, QUEUED)

    async with sessions.begin() as session:
        handoff = await session.get_one(Handoff, handoff_id)
        with pytest.raises(AttributeError, match="state_machine"):
            handoff.status = ASSIGNED

    async with sessions() as session:
        assert (await session.get_one(Handoff, handoff_id)).status is QUEUED


def test_a_new_handoff_takes_its_first_status() -> None:
    assert _handoff(OFFLINE).status is OFFLINE


def test_open_and_final_states() -> None:
    assert {QUEUED, ASSIGNED} == states.OPEN_STATES
    assert {RESOLVED, ABANDONED} == states.FINAL_STATES
