"""Expected wait of queued handoffs, from a snapshot of the queue and the team.

A queued handoff is taken by the first chat slot that frees up among the
online agents who have its skill (its *pool*), once everything ahead of it
that these agents will take has been taken. The estimate is the time until
that slot frees up:

* **Ahead** are the handoffs before it in the dispatcher's order (priority,
  then arrival) that will take one of the pool's slots: every one of the same
  skill, and of another skill the share of that skill's online capacity that
  the pool's agents hold (the rest go to agents outside the pool).
  Conversations an agent holds beyond capacity (a supervisor's override) free
  no slot when they end, so they count as ahead too.
* **Free slots** take the first of those at once.
* Every other one waits for a conversation in progress to end. With every slot
  busy, the pool ends conversations at ``slots ÷ mean handle time`` (a busy
  slot ends one per mean handle time on average, whatever the distribution),
  and handoffs of a higher priority arriving meanwhile jump ahead and take
  some of those slots, at the rate they arrived recently. The customer needs
  ``ahead − free + 1`` slots, so

      wait = (ahead − free + 1) ÷ (slots ÷ mean handle time − jumping arrivals)

The estimate is None ("unknown") when nobody with the skill is online, when
there is no handle-time history to tell how fast slots free up and no free
slot is waiting for the customer, and when higher-priority arrivals take
(nearly) every slot that frees up: this customer's queue barely moves, and any
number would be a guess.

``handoff.queue.queue_snapshot`` reads the snapshot from the database;
``bench/wait_simulation.py`` builds it from a simulated queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from handoff.vocabulary import PRIORITY_RANK, Priority, Skill

# Below this share of its slots left to a priority, its queue has no estimate.
MIN_SHARE_LEFT = 0.05


@dataclass(frozen=True)
class WaitingHandoff:
    id: int
    skill: Skill
    priority: Priority


@dataclass(frozen=True)
class OnlineAgent:
    """An online, active agent: who may be assigned new work."""

    skills: frozenset[Skill]
    capacity: int
    # Conversations assigned now; above ``capacity`` after an override.
    load: int


@dataclass(frozen=True)
class QueueSnapshot:
    # Queued handoffs in the order the dispatcher takes them.
    waiting: Sequence[WaitingHandoff]
    agents: Sequence[OnlineAgent]
    # Recent handle times (assigned to resolved), in seconds, by skill.
    handle_seconds: Mapping[Skill, Sequence[float]]
    # Recent arrivals per second, by skill and priority.
    arrivals_per_second: Mapping[tuple[Skill, Priority], float]


@dataclass(frozen=True)
class _Pool:
    """The online agents with one skill, seen from a handoff of that skill."""

    slots: int
    free: int
    over_capacity: int
    # Of each skill's online capacity, the share these agents hold.
    shares: Mapping[Skill, float]
    mean_handle_seconds: float | None


def expected_waits(snapshot: QueueSnapshot) -> dict[int, int | None]:
    """The expected wait in seconds of every waiting handoff; None when unknown."""
    pools: dict[Skill, _Pool | None] = {}
    ahead: Counter[Skill] = Counter()
    waits: dict[int, int | None] = {}
    for handoff in snapshot.waiting:
        if handoff.skill not in pools:
            pools[handoff.skill] = _pool(snapshot, handoff.skill)
        pool = pools[handoff.skill]
        waits[handoff.id] = (
            None
            if pool is None
            else _wait(pool, ahead, _jumping_arrivals(snapshot, pool, handoff))
        )
        ahead[handoff.skill] += 1
    return waits


def expected_wait(snapshot: QueueSnapshot, handoff_id: int) -> int | None:
    return expected_waits(snapshot).get(handoff_id)


def _wait(pool: _Pool, ahead: Counter[Skill], jumping: float) -> int | None:
    taking_slots = pool.over_capacity + sum(
        count * pool.shares.get(skill, 0.0) for skill, count in ahead.items()
    )
    if taking_slots < pool.free:
        return 0
    mean = pool.mean_handle_seconds
    if mean is None:
        return None
    # Slots left to this priority per mean handle time, after those taken by
    # higher priorities arriving meanwhile.
    slots_left = pool.slots - jumping * mean
    if slots_left <= MIN_SHARE_LEFT * pool.slots:
        return None
    return round((taking_slots - pool.free + 1) * mean / slots_left)


def _pool(snapshot: QueueSnapshot, skill: Skill) -> _Pool | None:
    members = [agent for agent in snapshot.agents if skill in agent.skills]
    slots = sum(agent.capacity for agent in members)
    if slots == 0:
        return None
    capacity_by_skill: Counter[Skill] = Counter()
    pool_capacity_by_skill: Counter[Skill] = Counter()
    for agent in snapshot.agents:
        for held in agent.skills:
            capacity_by_skill[held] += agent.capacity
            if skill in agent.skills:
                pool_capacity_by_skill[held] += agent.capacity
    shares = {
        held: pool_capacity_by_skill[held] / capacity_by_skill[held]
        for held in pool_capacity_by_skill
    }
    return _Pool(
        slots=slots,
        free=sum(max(0, agent.capacity - agent.load) for agent in members),
        over_capacity=sum(max(0, agent.load - agent.capacity) for agent in members),
        shares=shares,
        mean_handle_seconds=_mean_handle_seconds(snapshot.handle_seconds, shares),
    )


def _mean_handle_seconds(
    handle_seconds: Mapping[Skill, Sequence[float]], shares: Mapping[Skill, float]
) -> float | None:
    """The pool's slots hold every skill its agents have, each skill weighted by
    the share of it they take."""
    total = weight = 0.0
    for skill, share in shares.items():
        durations = handle_seconds.get(skill, ())
        total += share * sum(durations)
        weight += share * len(durations)
    return total / weight if weight > 0 else None


def _jumping_arrivals(
    snapshot: QueueSnapshot, pool: _Pool, handoff: WaitingHandoff
) -> float:
    """Arrivals per second that will be served by the pool before ``handoff``."""
    rank = PRIORITY_RANK[handoff.priority]
    return sum(
        rate * pool.shares.get(skill, 0.0)
        for (skill, priority), rate in snapshot.arrivals_per_second.items()
        if PRIORITY_RANK[priority] < rank
    )
