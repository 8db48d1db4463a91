"""The wait estimate's model, on snapshots of the queue and the team."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
    return [OnlineAgent(frozenset(skills), capacity, load) for _ in range(count)]


def snapshot(
    waiting: Sequence[WaitingHandoff],
    team: Sequence[OnlineAgent],
    handle_seconds: Mapping[Skill, Sequence[float]] | None = None,
    arrivals: Mapping[tuple[Skill, Priority], float] | None = None,
) -> QueueSnapshot:
    return QueueSnapshot(
        waiting=waiting,
        agents=team,
        handle_seconds={BILLING: SIX_MINUTES}
        if handle_seconds is None
        else handle_seconds,
        arrivals_per_second=arrivals or {},
    )


def test_with_every_agent_full_45_in_the_queue_wait_long() -> None:
    # Two agents with three chats each, all taken; conversations last six minutes.
    # Six slots free up every six minutes: one a minute.
    waits = expected_waits(snapshot(queue(*[BILLING] * 45), agents(2)))

    assert waits[1] == 60
    assert waits[14] == 14 * 60
    assert waits[45] == 45 * 60


def test_handoffs_of_other_skills_ahead_take_the_shared_agents_first() -> None:
    # Agents who work both queues take 30 earlier technical handoffs before the
    # first billing one; its place in the billing queue is still 1.
    both = agents(2, skills=(BILLING, TECHNICAL))
    waiting = queue(*[TECHNICAL] * 30, BILLING)

    wait = expected_wait(
        snapshot(waiting, both, {BILLING: SIX_MINUTES, TECHNICAL: SIX_MINUTES}), 31
    )

    assert wait == 31 * 60


def test_other_skills_count_by_the_share_of_their_capacity_the_pool_holds() -> None:
    # Technical work goes to two agents: one who also does billing, one who does
    # not. Half the technical handoffs ahead take a billing agent's slot.
    team = [
        OnlineAgent(frozenset({BILLING, TECHNICAL}), 3, 3),
        OnlineAgent(frozenset({TECHNICAL}), 3, 3),
    ]
    waiting = queue(*[TECHNICAL] * 10, BILLING)

    wait = expected_wait(snapshot(waiting, team, {BILLING: SIX_MINUTES}), 11)

    # 5 ahead of it, the 6th slot; three slots free up every six minutes.
    assert wait == 6 * 120


def test_a_free_slot_takes_the_first_at_once() -> None:
    team = agents(1, load=1)  # two free slots
    waits = expected_waits(snapshot(queue(BILLING, BILLING, BILLING), team))

    assert (waits[1], waits[2]) == (0, 0)
    # The third needs one of the three busy slots: 360 s ÷ 3.
    assert waits[3] == 120


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

    assert wait == 456


def test_higher_priority_arrivals_jump_ahead_and_slow_the_queue() -> None:
    team = agents(2)  # 6 slots, one frees up a minute
    waiting = queue(BILLING)
    calm = snapshot(waiting, team)
    # Urgent handoffs arrive at one every two minutes and go first.
    urgent = snapshot(waiting, team, arrivals={(BILLING, URGENT): 1 / 120})
    # As many as free up: this customer's queue does not move.
    flooded = snapshot(waiting, team, arrivals={(BILLING, URGENT): 1 / 60})

    assert expected_wait(calm, 1) == 60
    assert expected_wait(urgent, 1) == 120
    assert expected_wait(flooded, 1) is None


def test_arrivals_of_the_same_or_a_lower_priority_wait_behind() -> None:
    team = agents(2)
    arrivals = {(BILLING, NORMAL): 1.0, (BILLING, Priority.LOW): 1.0}

    assert expected_wait(snapshot(queue(BILLING), team, arrivals=arrivals), 1) == 60


def test_an_urgent_handoff_waits_only_for_what_is_ahead_of_it() -> None:
    waiting = [
        WaitingHandoff(1, BILLING, URGENT),
        *queue(*[BILLING] * 20)[1:],
    ]
    waits = expected_waits(
        snapshot(waiting, agents(2), arrivals={(BILLING, URGENT): 1 / 120})
    )

    assert waits[1] == 60
    assert waits[20] == 20 * 120


def test_chats_beyond_capacity_free_no_slot_when_they_end() -> None:
    # A supervisor gave this agent a fourth chat: the first to end frees nothing.
    overloaded = [OnlineAgent(frozenset({BILLING}), 3, 4)]

    wait = expected_wait(snapshot(queue(BILLING), overloaded), 1)

    assert wait == 2 * 120
