"""A discrete-event simulation of the handoff queue under the dispatcher's rules,
recording what each waiting customer was told and how long they really waited.

The assignment follows ``handoff.queue.assignment.Dispatcher`` step by step:
whenever a handoff arrives or a chat slot frees up, the online agents below
capacity are taken least loaded first (ties: lower id); the first queued
handoff in queue order (priority, arrival, id) whose skill one of them has goes
to the first of them with that skill; again until nobody can take anything.

The estimate is the service's own code: a ``QueueSnapshot`` is built from the
simulated queue, team and history exactly as ``handoff.queue.queue_snapshot``
reads it from the database (the latest 50 handle times of each skill within
24 hours, the arrivals of the last hour), and ``expected_waits`` runs on it.
``previous_estimate`` is the formula the service used before, for a same-run
baseline: position in the skill queue × median handle time ÷ the online
agents' summed capacity.

A customer who waits is told an estimate when the handoff is created, and the
estimates are recorded again every minute while they wait (the sweeper's
updates); a customer may give up (patience), and then has no actual wait to
compare with.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import random
import statistics
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from handoff.queue.queue_snapshot import RECENT_ARRIVALS, RECENT_HANDLING, SAMPLE_SIZE
from handoff.queue.wait_estimate import (
    OnlineAgent,
    QueueSnapshot,
    WaitingHandoff,
    expected_waits,
)
from handoff.vocabulary import PRIORITY_RANK, Priority, Skill

HOUR = 3600.0
UPDATE_INTERVAL = 60.0
# The previous formula's sample: the latest 50 handle times of the skill.
PREVIOUS_SAMPLE_SIZE = 50


class HandleTime(Protocol):
    """How long an agent keeps a conversation (assigned to resolved), in seconds."""

    def sample(self, rng: random.Random) -> float: ...


@dataclass(frozen=True)
class Exponential:
    mean: float

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1 / self.mean)


@dataclass(frozen=True)
class LogNormal:
    """Right-skewed like real chats: most short, some very long."""

    mean: float
    cv: float

    def sample(self, rng: random.Random) -> float:
        sigma = math.sqrt(math.log(1 + self.cv**2))
        mu = math.log(self.mean) - sigma**2 / 2
        return rng.lognormvariate(mu, sigma)


@dataclass(frozen=True)
class WithQuickCloses:
    """A share of chats closed within a minute (duplicates, wrong queue), the
    rest drawn from ``rest``: the median says little about the slots."""

    share: float
    rest: HandleTime

    def sample(self, rng: random.Random) -> float:
        if rng.random() < self.share:
            return rng.uniform(15, 60)
        return self.rest.sample(rng)


@dataclass(frozen=True)
class AgentShift:
    skills: frozenset[Skill]
    capacity: int
    online_from_hour: float = 0.0
    online_until_hour: float = math.inf


@dataclass(frozen=True)
class Arrivals:
    """Handoffs of one skill and priority: ``(from hour, per hour)`` pieces."""

    skill: Skill
    priority: Priority
    rates: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    agents: tuple[AgentShift, ...]
    arrivals: tuple[Arrivals, ...]
    handle: Mapping[Skill, HandleTime]
    hours: float
    # Customers arriving before this are not measured (the history fills up).
    measure_from_hour: float = 1.0
    # Mean time a waiting customer gives up after; None: nobody gives up.
    patience_seconds: float | None = None


@dataclass
class Told:
    """One estimate: when, by the estimator and by the previous formula, and
    the wait that followed (None when the customer gave up)."""

    at: float
    new: int | None
    old: int | None
    actual: float | None = None


@dataclass
class Customer:
    id: int
    skill: Skill
    priority: Priority
    arrived: float
    measured: bool
    assigned: float | None = None
    gave_up: bool = False
    # When the customer left the queue: assigned, or gave up.
    left: float | None = None
    first: Told | None = None
    updates: list[Told] = field(default_factory=list)

    def queue_key(self) -> tuple[int, float, int]:
        return (PRIORITY_RANK[self.priority], self.arrived, self.id)


@dataclass
class _Agent:
    id: int
    skills: frozenset[Skill]
    capacity: int
    online: bool = False
    serving: Counter[Skill] = field(default_factory=Counter)

    @property
    def load(self) -> int:
        return sum(self.serving.values())


@dataclass(frozen=True)
class SimulationResult:
    scenario: Scenario
    seed: int
    customers: list[Customer]
    assigned_at_once: int


class Simulation:
    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = 0.0
        self.agents = [
            _Agent(index + 1, shift.skills, shift.capacity)
            for index, shift in enumerate(scenario.agents)
        ]
        self.queue: list[tuple[tuple[int, float, int], Customer]] = []
        self.customers: list[Customer] = []
        self.history: dict[Skill, deque[tuple[float, float]]] = {
            skill: deque(maxlen=max(SAMPLE_SIZE, PREVIOUS_SAMPLE_SIZE))
            for skill in Skill
        }
        self.recent_arrivals: deque[tuple[float, Skill, Priority]] = deque()
        # Customers who arrived or waited within the last RECENT_ARRIVALS.
        self.recent_customers: deque[Customer] = deque()
        self.assigned_at_once = 0
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    # ------------------------------------------------------------ running

    def run(self) -> SimulationResult:
        end = self.scenario.hours * HOUR
        for index, shift in enumerate(self.scenario.agents):
            agent = self.agents[index]
            self._at(shift.online_from_hour * HOUR, self._online(agent, True))
            if shift.online_until_hour < math.inf:
                self._at(shift.online_until_hour * HOUR, self._online(agent, False))
        for stream in self.scenario.arrivals:
            for moment in self._arrival_times(stream, end):
                self._at(moment, self._arrive(stream.skill, stream.priority))
        tick = UPDATE_INTERVAL
        while tick < end:
            self._at(tick, self._update)
            tick += UPDATE_INTERVAL
        while self._events:
            moment, _, action = heapq.heappop(self._events)
            self.now = moment
            action()
        return SimulationResult(
            self.scenario, self.seed, self.customers, self.assigned_at_once
        )

    def _at(self, moment: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (moment, next(self._order), action))

    def _arrival_times(self, stream: Arrivals, end: float) -> Iterator[float]:
        pieces = [*stream.rates, (end / HOUR, 0.0)]
        for (start, per_hour), (until, _) in itertools.pairwise(pieces):
            moment = start * HOUR
            limit = min(until * HOUR, end)
            if per_hour <= 0:
                continue
            while True:
                moment += self.rng.expovariate(per_hour / HOUR)
                if moment >= limit:
                    break
                yield moment

    # ------------------------------------------------------------ events

    def _online(self, agent: _Agent, online: bool) -> Callable[[], None]:
        def change() -> None:
            agent.online = online
            if online:
                self._dispatch()

        return change

    def _arrive(self, skill: Skill, priority: Priority) -> Callable[[], None]:
        def arrive() -> None:
            customer = Customer(
                id=len(self.customers) + 1,
                skill=skill,
                priority=priority,
                arrived=self.now,
                measured=self.now >= self.scenario.measure_from_hour * HOUR,
            )
            self.customers.append(customer)
            self.recent_customers.append(customer)
            self.recent_arrivals.append((self.now, skill, priority))
            bisect.insort(self.queue, (customer.queue_key(), customer))
            self._dispatch()
            if customer.assigned is not None:
                self.assigned_at_once += customer.measured
                return
            new = expected_waits(self.snapshot()).get(customer.id)
            customer.first = Told(self.now, new, self.previous_estimate(customer))
            patience = self.scenario.patience_seconds
            if patience is not None:
                self._at(
                    self.now + self.rng.expovariate(1 / patience),
                    self._give_up(customer),
                )

        return arrive

    def _give_up(self, customer: Customer) -> Callable[[], None]:
        def give_up() -> None:
            if customer.assigned is not None:
                return
            customer.gave_up = True
            customer.left = self.now
            self.queue.remove((customer.queue_key(), customer))

        return give_up

    def _complete(self, agent: _Agent, customer: Customer) -> Callable[[], None]:
        def complete() -> None:
            agent.serving[customer.skill] -= 1
            assert customer.assigned is not None
            self.history[customer.skill].append(
                (self.now, self.now - customer.assigned)
            )
            self._dispatch()

        return complete

    def _update(self) -> None:
        if not self.queue:
            return
        waits = expected_waits(self.snapshot())
        for _, customer in self.queue:
            if customer.measured:
                customer.updates.append(
                    Told(
                        self.now,
                        waits.get(customer.id),
                        self.previous_estimate(customer),
                    )
                )

    # ------------------------------------------------------------ the rules

    def _dispatch(self) -> None:
        """``Dispatcher.dispatch``: one assignment at a time while any is possible."""
        while True:
            candidates = sorted(
                (a for a in self.agents if a.online and a.load < a.capacity),
                key=lambda agent: (agent.load, agent.id),
            )
            skills = {skill for agent in candidates for skill in agent.skills}
            if not skills:
                return
            picked = next(
                (
                    (index, customer)
                    for index, (_, customer) in enumerate(self.queue)
                    if customer.skill in skills
                ),
                None,
            )
            if picked is None:
                return
            index, customer = picked
            agent = next(a for a in candidates if customer.skill in a.skills)
            del self.queue[index]
            agent.serving[customer.skill] += 1
            customer.assigned = customer.left = self.now
            handle = self.scenario.handle[customer.skill].sample(self.rng)
            self._at(self.now + handle, self._complete(agent, customer))

    # ------------------------------------------------------------ estimates

    def snapshot(self) -> QueueSnapshot:
        """What ``read_queue_snapshot`` would read from the database now."""
        recent = self.now - RECENT_HANDLING.total_seconds()
        seconds = RECENT_ARRIVALS.total_seconds()
        since = self.now - seconds
        while self.recent_arrivals and self.recent_arrivals[0][0] <= since:
            self.recent_arrivals.popleft()
        counts = Counter(
            (skill, priority) for _, skill, priority in self.recent_arrivals
        )
        while (
            self.recent_customers
            and self.recent_customers[0].left is not None
            and self.recent_customers[0].left <= since
        ):
            self.recent_customers.popleft()
        waited = gave_up = 0.0
        for customer in self.recent_customers:
            left = self.now if customer.left is None else customer.left
            waited += max(0.0, left - max(customer.arrived, since))
            gave_up += customer.gave_up and left > since
        return QueueSnapshot(
            waiting=[
                WaitingHandoff(customer.id, customer.skill, customer.priority)
                for _, customer in self.queue
            ],
            agents=[
                OnlineAgent(agent.skills, agent.capacity, Counter(agent.serving))
                for agent in self.agents
                if agent.online
            ],
            handle_seconds={
                skill: [
                    duration
                    for ended, duration in itertools.islice(reversed(done), SAMPLE_SIZE)
                    if ended > recent
                ]
                for skill, done in self.history.items()
                if done
            },
            arrivals_per_second={key: count / seconds for key, count in counts.items()},
            give_ups_per_waiting_second=gave_up / waited if waited > 0 else 0.0,
        )

    def previous_estimate(self, customer: Customer) -> int | None:
        """position × median handle time ÷ chat slots online, as before."""
        recent = self.now - RECENT_HANDLING.total_seconds()
        durations = [
            duration
            for ended, duration in itertools.islice(
                reversed(self.history[customer.skill]), PREVIOUS_SAMPLE_SIZE
            )
            if ended > recent
        ]
        slots = sum(
            agent.capacity
            for agent in self.agents
            if agent.online and customer.skill in agent.skills
        )
        if not durations or slots == 0:
            return None
        position = 1 + sum(
            1
            for key, waiting in self.queue
            if waiting.skill == customer.skill and key < customer.queue_key()
        )
        return math.ceil(position * statistics.median(durations) / slots)


def simulate(scenario: Scenario, seed: int) -> SimulationResult:
    result = Simulation(scenario, seed).run()
    for customer in result.customers:
        told = [customer.first, *customer.updates] if customer.first else []
        for estimate in told:
            if customer.assigned is not None:
                estimate.actual = customer.assigned - estimate.at
    return result


def told_estimates(results: Sequence[SimulationResult], *, updates: bool) -> list[Told]:
    """The estimates of measured customers: first messages, or the updates."""
    return [
        told
        for result in results
        for customer in result.customers
        if customer.measured and customer.first is not None
        for told in (customer.updates if updates else [customer.first])
    ]
