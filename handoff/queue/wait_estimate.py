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
  busy, the pool ends conversations at ``μ = slots ÷ mean handle time`` (a
  busy slot ends one per mean handle time on average, whatever the
  distribution); handoffs of a higher priority arriving meanwhile jump ahead
  and take some of those, at the rate they arrived recently. The mean handle
  time is that of the work the slots hold until the customer's turn: the
  conversations in progress and the handoffs ahead, each skill with its own
  recent mean.
* Customers ahead also give up, at the rate waiting customers gave up
  recently (θ per second of waiting). The ``m`` slots' worth ahead then clear
  after ``ln(1 + θm/μ) ÷ θ`` rather than ``m ÷ μ``, and one more slot is the
  customer's. In slots freeing up that is ``n = μ/θ · ln(1 + θm/μ) + 1``.
* Slots free up as a random stream, so the time until the n-th is an Erlang
  (gamma) time of n stages, skewed to the right, with the mean
  ``n ÷ (μ − λ)`` (λ: the jumping arrivals). The customer is told its median,
  the wait half of such customers beat; the updates every minute follow how
  it goes. Jumps spread the wait further: the gamma then has the variance of
  a walk down by completions and up by jumps, ``n(μ + λ) ÷ (μ − λ)³``, so
  ``n(μ − λ) ÷ (μ + λ)`` stages (at least one).

      wait = median of gamma(stages) ÷ stages × n ÷ (μ − λ)

The estimate is None ("unknown") when nobody with the skill is online, when
there is no handle-time history to tell how fast slots free up and no free
slot is waiting for the customer, and when higher-priority arrivals take
(nearly) every slot that frees up: this customer's queue barely moves, and any
number would be a guess.

``handoff.queue.queue_snapshot`` reads the snapshot from the database;
``bench/wait_simulation.py`` builds it from a simulated queue, and
``make bench-wait`` measures how close the estimates come (docs/benchmarks.md).
"""

from __future__ import annotations

import math
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
    # Conversations assigned now, by skill; above capacity after an override.
    serving: Mapping[Skill, int]

    @property
    def load(self) -> int:
        return sum(self.serving.values())


@dataclass(frozen=True)
class QueueSnapshot:
    # Queued handoffs in the order the dispatcher takes them.
    waiting: Sequence[WaitingHandoff]
    agents: Sequence[OnlineAgent]
    # Recent handle times (assigned to resolved), in seconds, by skill.
    handle_seconds: Mapping[Skill, Sequence[float]]
    # Recent arrivals per second, by skill and priority.
    arrivals_per_second: Mapping[tuple[Skill, Priority], float]
    # Recent customers who gave up waiting, per second waited by all.
    give_ups_per_waiting_second: float = 0.0


@dataclass(frozen=True)
class _Pool:
    """The online agents with one skill, seen from a handoff of that skill."""

    slots: int
    free: int
    over_capacity: int
    # Of each skill's online capacity, the share these agents hold.
    shares: Mapping[Skill, float]
    # Conversations in progress in the pool's slots, by skill.
    serving: Mapping[Skill, int]


def expected_waits(snapshot: QueueSnapshot) -> dict[int, int | None]:
    """What every waiting handoff is told, in seconds (the median wait); None
    when it cannot be said."""
    pools: dict[Skill, _Pool | None] = {}
    ahead: Counter[Skill] = Counter()
    waits: dict[int, int | None] = {}
    for handoff in snapshot.waiting:
        if handoff.skill not in pools:
            pools[handoff.skill] = _pool(snapshot, handoff.skill)
        pool = pools[handoff.skill]
        waits[handoff.id] = (
            None if pool is None else _wait(snapshot, pool, ahead, handoff.priority)
        )
        ahead[handoff.skill] += 1
    return waits


def expected_wait(snapshot: QueueSnapshot, handoff_id: int) -> int | None:
    return expected_waits(snapshot).get(handoff_id)


def _wait(
    snapshot: QueueSnapshot, pool: _Pool, ahead: Counter[Skill], priority: Priority
) -> int | None:
    taking_slots = pool.over_capacity + sum(
        count * pool.shares.get(skill, 0.0) for skill, count in ahead.items()
    )
    if taking_slots < pool.free:
        return 0
    mean = _mean_handle_seconds(snapshot, pool, ahead)
    if mean is None:
        return None
    completing = pool.slots / mean
    jumping = _jumping_arrivals(snapshot, pool, priority)
    # Slots freeing up per second for this priority, after those taken by
    # higher priorities arriving meanwhile.
    freeing = completing - jumping
    if freeing <= MIN_SHARE_LEFT * completing:
        return None
    still_ahead = taking_slots - pool.free
    give_ups = snapshot.give_ups_per_waiting_second
    if give_ups > 0 and still_ahead > 0:
        still_ahead = math.log1p(give_ups * still_ahead / freeing) * freeing / give_ups
    needed = still_ahead + 1
    # Jumps make the wait more uncertain than the completions alone: the gamma
    # with the mean and variance of a walk down by completions and up by jumps.
    stages = max(1.0, needed * freeing / (completing + jumping))
    return round(_erlang_median(stages) / stages * needed / freeing)


def _erlang_median(stages: float) -> float:
    """The median time until the ``stages``-th of a random stream of events,
    in units of the mean time between them (Wilson and Hilferty's
    approximation of the gamma median: within 1.5 % from one stage on)."""
    return stages * (1 - 1 / (9 * stages)) ** 3


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
    serving: Counter[Skill] = Counter()
    for agent in members:
        serving.update(agent.serving)
    return _Pool(
        slots=slots,
        free=sum(max(0, agent.capacity - agent.load) for agent in members),
        over_capacity=sum(max(0, agent.load - agent.capacity) for agent in members),
        shares=shares,
        serving=serving,
    )


def _mean_handle_seconds(
    snapshot: QueueSnapshot, pool: _Pool, ahead: Counter[Skill]
) -> float | None:
    """How long the pool's slots stay taken on average until the customer's
    turn, each skill with the mean of its recent handle times. The first slots
    to free up are those of the conversations in progress (a slot holding a
    skill frees up at one over its mean); the later ones hold the handoffs
    ahead (a slot frees up once per handoff, after its mean)."""
    means = {
        skill: sum(durations) / len(durations)
        for skill, durations in snapshot.handle_seconds.items()
        if durations and pool.shares.get(skill, 0.0) > 0
    }
    if not means:
        return None
    in_progress = sum(pool.serving.get(skill, 0) for skill in means)
    freeing_in_progress = sum(
        pool.serving.get(skill, 0) / mean for skill, mean in means.items()
    )
    taking = {skill: ahead[skill] * pool.shares[skill] for skill in means}
    handoffs_ahead = sum(taking.values())
    taken_seconds = sum(taking[skill] * mean for skill, mean in means.items())
    if in_progress + handoffs_ahead == 0:
        # Nothing known to be in the slots: the skills the pool holds, alike.
        return sum(means.values()) / len(means)
    # A slot holding the work ahead frees up once per its mean handle time.
    freeing_ahead = handoffs_ahead / taken_seconds if handoffs_ahead else 0.0
    freeing_per_slot = (freeing_in_progress + handoffs_ahead * freeing_ahead) / (
        in_progress + handoffs_ahead
    )
    return 1 / freeing_per_slot


def _jumping_arrivals(
    snapshot: QueueSnapshot, pool: _Pool, priority: Priority
) -> float:
    """Arrivals per second that will take the pool's slots before a waiting
    handoff of ``priority``: those of a higher one."""
    rank = PRIORITY_RANK[priority]
    return sum(
        rate * pool.shares.get(skill, 0.0)
        for (skill, arriving), rate in snapshot.arrivals_per_second.items()
        if PRIORITY_RANK[arriving] < rank
    )
