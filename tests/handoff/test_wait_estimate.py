"""The wait estimate's model, on snapshots of the queue and the team.

The customer is told the median of the time until their slot frees up: with
slots freeing up as a random stream, the median of an Erlang time of n stages,
about ``n − 1/3`` times the mean time between two slots freeing up (0.70 for
n = 1, 13.67 for n = 14, 44.67 for n = 45).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from handoff.queue.wait_estimate import (
    OnlineAgent,
    QueueSnapshot,
    WaitingHandoff,
    expected_wait,
    expected_waits,
)
from handoff.vocabulary import Priority, Skill

BILLING, TECHNICAL = Skill.BILLING, Skill.TECHNICAL
NORMAL, URGENT = Priority.NORMAL, Priority.URGENT
SIX_MINUTES = [360.0] * 10


def queue(*skills: Skill, priority: Priority = NORMAL) -> list[WaitingHandoff]:
    return [
        WaitingHandoff(index + 1, skill, priority) for index, skill in enumerate(skills)
    ]


def agents(
    count: int, skills: Sequence[Skill] = (BILLING,), capacity: int = 3, load: int = 3
) -> list[OnlineAgent]:
    """Agents whose conversations in progress are of their first skill."""
    return [
        OnlineAgent(frozenset(skills), capacity, {skills[0]: load})
        for _ in range(count)
    ]


def snapshot(
    waiting: Sequence[WaitingHandoff],
    team: Sequence[OnlineAgent],
    handle_seconds: Mapping[Skill, Sequence[float]] | None = None,
    arrivals: Mapping[tuple[Skill, Priority], float] | None = None,
    give_ups: float = 0.0,
) -> QueueSnapshot:
    return QueueSnapshot(
        waiting=waiting,
        agents=team,
        handle_seconds={BILLING: SIX_MINUTES}
        if handle_seconds is None
        else handle_seconds,
        arrivals_per_second=arrivals or {},
        give_ups_per_waiting_second=give_ups,
    )


def test_with_every_agent_full_45_in_the_queue_wait_long() -> None:
    # Two agents with three chats each, all taken; conversations last six minutes:
    # a slot frees up every minute.
    waits = expected_waits(snapshot(queue(*[BILLING] * 45), agents(2)))

    assert waits[1] == 42
    assert waits[14] == 820
    assert waits[45] == 2680  # about 45 minutes, not "about 1 minute"


def test_handoffs_of_other_skills_ahead_take_the_shared_agents_first() -> None:
    # Agents who work both queues take 30 earlier technical handoffs before the
    # first billing one; its place in the billing queue is still 1.
    both = agents(2, skills=(BILLING, TECHNICAL))
    waiting = queue(*[TECHNICAL] * 30, BILLING)

    wait = expected_wait(
        snapshot(waiting, both, {BILLING: SIX_MINUTES, TECHNICAL: SIX_MINUTES}), 31
    )

    assert wait == 1840  # the 31st slot to free up


def test_other_skills_count_by_the_share_of_their_capacity_the_pool_holds() -> None:
    # Technical work goes to two agents: one who also does billing, one who does
    # not. Half the technical handoffs ahead take a billing agent's slot.
    team = [
        OnlineAgent(frozenset({BILLING, TECHNICAL}), 3, {BILLING: 3}),
        OnlineAgent(frozenset({TECHNICAL}), 3, {TECHNICAL: 3}),
    ]
    waiting = queue(*[TECHNICAL] * 10, BILLING)

    wait = expected_wait(snapshot(waiting, team, {BILLING: SIX_MINUTES}), 11)

    # 5 ahead of it, the 6th slot; three slots free up every six minutes.
    assert wait == 681


def test_slots_holding_longer_chats_free_up_later() -> None:
    twelve_minutes = [720.0] * 10
    history = {BILLING: SIX_MINUTES, TECHNICAL: twelve_minutes}
    shared = frozenset({BILLING, TECHNICAL})
    on_billing = [OnlineAgent(shared, 3, {BILLING: 3})]
    on_technical = [OnlineAgent(shared, 3, {TECHNICAL: 3})]

    quick = expected_wait(snapshot(queue(BILLING), on_billing, history), 1)
    slow = expected_wait(snapshot(queue(BILLING), on_technical, history), 1)

    assert (quick, slow) == (84, 169)


def test_a_free_slot_takes_the_first_at_once() -> None:
    team = agents(1, load=1)  # two free slots
    waits = expected_waits(snapshot(queue(BILLING, BILLING, BILLING), team))

    assert (waits[1], waits[2]) == (0, 0)
    # The third needs one of the three busy slots to free up.
    assert waits[3] == 84


def test_nobody_online_with_the_skill_is_unknown() -> None:
    technical_only = agents(3, skills=(TECHNICAL,), load=0)

    assert expected_wait(snapshot(queue(BILLING), technical_only), 1) is None
    assert expected_wait(snapshot(queue(BILLING), []), 1) is None


def test_without_history_only_a_free_slot_gives_an_estimate() -> None:
    no_history: dict[Skill, list[float]] = {}

    free = snapshot(queue(BILLING), agents(1, load=2), no_history)
    full = snapshot(queue(BILLING), agents(1), no_history)

    assert expected_wait(free, 1) == 0
    assert expected_wait(full, 1) is None


def test_the_mean_handle_time_sets_the_pace_not_the_median() -> None:
    # Most chats are short, a few long: the long ones hold slots for most of the time.
    skewed = {BILLING: [120.0] * 8 + [1800.0] * 2}  # median 120 s, mean 456 s

    wait = expected_wait(
        snapshot(queue(BILLING), agents(1, capacity=1, load=1), skewed), 1
    )

    assert wait == 320  # 0.70 × 456 s


def test_higher_priority_arrivals_jump_ahead_and_slow_the_queue() -> None:
    team = agents(2)  # 6 slots, one frees up a minute
    waiting = queue(*[BILLING] * 10)
    calm = expected_wait(snapshot(waiting, team), 10)
    # Urgent handoffs arrive at one every two minutes and go first: half the
    # slots that free up are theirs.
    urgent = expected_wait(
        snapshot(waiting, team, arrivals={(BILLING, URGENT): 1 / 120}), 10
    )
    # As many as free up: this customer's queue does not move.
    flooded = expected_wait(
        snapshot(waiting, team, arrivals={(BILLING, URGENT): 1 / 60}), 10
    )

    assert calm == 580  # the 10th slot: 9.67 minutes
    assert urgent is not None
    assert 2 * 540 < urgent < 2 * 600
    assert flooded is None


def test_arrivals_of_the_same_or_a_lower_priority_wait_behind() -> None:
    team = agents(2)
    arrivals = {(BILLING, NORMAL): 1.0, (BILLING, Priority.LOW): 1.0}

    assert expected_wait(snapshot(queue(BILLING), team, arrivals=arrivals), 1) == 42


def test_an_urgent_handoff_waits_only_for_what_is_ahead_of_it() -> None:
    waiting = [
        WaitingHandoff(1, BILLING, URGENT),
        *queue(*[BILLING] * 20)[1:],
    ]
    waits = expected_waits(
        snapshot(waiting, agents(2), arrivals={(BILLING, URGENT): 1 / 120})
    )

    assert waits[1] == 42
    assert waits[20] is not None and waits[20] > 2 * waits[1] * 20


@pytest.mark.parametrize("give_ups", [1 / 600, 1 / 120])
def test_customers_giving_up_ahead_shorten_the_wait(give_ups: float) -> None:
    waiting = queue(*[BILLING] * 30)
    staying = expected_wait(snapshot(waiting, agents(2)), 30)
    leaving = expected_wait(snapshot(waiting, agents(2), give_ups=give_ups), 30)

    assert staying is not None and leaving is not None
    assert leaving < staying
    # The customer's own slot is still to come: never less than the first.
    assert leaving > 42


def test_chats_beyond_capacity_free_no_slot_when_they_end() -> None:
    # A supervisor gave this agent a fourth chat: the first to end frees nothing.
    overloaded = [OnlineAgent(frozenset({BILLING}), 3, {BILLING: 4})]

    wait = expected_wait(snapshot(queue(BILLING), overloaded), 1)

    assert wait == 202  # the second slot to free up, four chats in three slots
