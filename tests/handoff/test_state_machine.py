"""Every allowed and every refused transition of a handoff."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from handoff.errors import InvalidTransition
from handoff.queue import state_machine
from handoff.queue.state_machine import HandoffStatus

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


@dataclass
class Record:
    status: HandoffStatus


def _pair_id(pair: tuple[HandoffStatus, HandoffStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_the_table_covers_every_state() -> None:
    assert set(state_machine.ALLOWED_TRANSITIONS) == set(HandoffStatus)


@pytest.mark.parametrize(
    "pair", [pair for pair in EVERY_PAIR if pair in ALLOWED], ids=_pair_id
)
def test_allowed_transition(pair: tuple[HandoffStatus, HandoffStatus]) -> None:
    current, target = pair
    record = Record(current)

    state_machine.transition(record, target)

    assert record.status is target
    assert state_machine.is_allowed(current, target)
    assert current in state_machine.sources_of(target)


@pytest.mark.parametrize(
    "pair", [pair for pair in EVERY_PAIR if pair not in ALLOWED], ids=_pair_id
)
def test_refused_transition(pair: tuple[HandoffStatus, HandoffStatus]) -> None:
    current, target = pair
    record = Record(current)

    with pytest.raises(InvalidTransition) as refused:
        state_machine.transition(record, target)

    assert record.status is current
    assert refused.value.status == 409
    assert refused.value.extra == {"handoff_status": current.value}
    assert not state_machine.is_allowed(current, target)
    assert current not in state_machine.sources_of(target)


def test_open_and_final_states() -> None:
    assert {QUEUED, ASSIGNED} == state_machine.OPEN_STATES
    assert {RESOLVED, ABANDONED} == state_machine.FINAL_STATES
