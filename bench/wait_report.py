"""How close the wait estimate comes to the real wait, on simulated queues.

Runs the scenarios below through ``bench/wait_simulation.py`` (the dispatcher's
rules, the service's own estimator) with several seeds each, and compares every
estimate a waiting customer was given with the wait that followed: at the
handoff (the bot's first message) and every minute while waiting (the service's
updates). The previous formula (position × median ÷ slots) is computed in the
same run on the same queues, as the baseline.

Prints a Markdown report; ``--write`` puts it into the "Wait estimate" section of
docs/benchmarks.md.

    .venv/handoff/bin/python -m bench.wait_report [--write] [--seeds N]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.wait_simulation import (
    AgentShift,
    Arrivals,
    Exponential,
    LogNormal,
    Scenario,
    SimulationResult,
    Told,
    WithQuickCloses,
    simulate,
    told_estimates,
)
from handoff.vocabulary import Priority, Skill

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION_HEADING = "## Wait estimate"
START_MARKER = "<!-- bench-wait:start -->"
END_MARKER = "<!-- bench-wait:end -->"
SEEDS = 5
# An error within half the real wait counts as "within ±50 %"; real waits under
# a minute count as a minute, the unit customers are told.
WITHIN = 0.5
FLOOR_SECONDS = 60.0

GENERAL, BILLING, TECHNICAL, RETENTION = (
    Skill.GENERAL,
    Skill.BILLING,
    Skill.TECHNICAL,
    Skill.RETENTION,
)
NORMAL, HIGH, URGENT = Priority.NORMAL, Priority.HIGH, Priority.URGENT


def team(
    count: int, skills: Sequence[Skill], capacity: int, **shift: float
) -> tuple[AgentShift, ...]:
    return tuple(AgentShift(frozenset(skills), capacity, **shift) for _ in range(count))


def steady(skill: Skill, per_hour: float, priority: Priority = NORMAL) -> Arrivals:
    return Arrivals(skill, priority, ((0.0, per_hour),))


SCENARIOS = (
    Scenario(
        "steady",
        "6 agents × 3 chats, one skill, exponential handle times (mean 6 min), "
        "arrivals at 85 % of capacity",
        team(6, [GENERAL], 3),
        (steady(GENERAL, 153),),
        {GENERAL: Exponential(360)},
        hours=8,
    ),
    Scenario(
        "overloaded",
        "the same team, log-normal handle times (mean 8 min, CV 1); arrivals at "
        "120 % of capacity from hour 1 to 3, then 60 %; customers give up after "
        "30 min on average",
        team(6, [GENERAL], 3),
        (Arrivals(GENERAL, NORMAL, ((0, 81), (1, 162), (3, 81))),),
        {GENERAL: LogNormal(480, 1.0)},
        hours=8,
        patience_seconds=1800,
    ),
    Scenario(
        "two skills",
        "billing (5 min, CV 1) and technical (12 min, CV 1.2); 3 billing agents × "
        "3, 3 technical × 2, 3 who do both × 3; about 90 % busy",
        (
            *team(3, [BILLING], 3),
            *team(3, [TECHNICAL], 2),
            *team(3, [BILLING, TECHNICAL], 3),
        ),
        (steady(BILLING, 120), steady(TECHNICAL, 55)),
        {BILLING: LogNormal(300, 1.0), TECHNICAL: LogNormal(720, 1.2)},
        hours=8,
        patience_seconds=2400,
    ),
    Scenario(
        "priorities",
        "5 agents × 3, log-normal (7 min, CV 0.8); 95 normal, 20 high and 5 urgent "
        "an hour (94 % of capacity); customers give up after 30 min on average",
        team(5, [GENERAL], 3),
        (
            steady(GENERAL, 95),
            steady(GENERAL, 20, HIGH),
            steady(GENERAL, 5, URGENT),
        ),
        {GENERAL: LogNormal(420, 0.8)},
        hours=8,
        patience_seconds=1800,
    ),
    Scenario(
        "quick closes",
        "4 agents × 4; 35 % of chats closed within a minute, the rest log-normal "
        "(10 min, CV 1): median 3.8 min, mean 6.7 min; 87 % busy",
        team(4, [GENERAL], 4),
        (steady(GENERAL, 125),),
        {GENERAL: WithQuickCloses(0.35, LogNormal(600, 1.0))},
        hours=8,
    ),
    Scenario(
        "shift change",
        "8 agents × 3 (exponential, 6 min), 150 arrivals an hour; 4 leave at hour "
        "4, 2 come at hour 5",
        (
            *team(4, [GENERAL], 3),
            *team(4, [GENERAL], 3, online_until_hour=4),
            *team(2, [GENERAL], 3, online_from_hour=5),
        ),
        (steady(GENERAL, 150),),
        {GENERAL: Exponential(360)},
        hours=8,
        patience_seconds=2400,
    ),
    Scenario(
        "desk opens late",
        "4 general agents × 3 (6 min) for 100 an hour; 10 retention handoffs an "
        "hour, whose 2 agents × 2 (15 min, CV 0.8) come at hour 3",
        (
            *team(4, [GENERAL], 3),
            *team(2, [RETENTION], 2, online_from_hour=3),
        ),
        (steady(GENERAL, 100), steady(RETENTION, 10)),
        {GENERAL: Exponential(360), RETENTION: LogNormal(900, 0.8)},
        hours=8,
        patience_seconds=3600,
    ),
    Scenario(
        "outage surge",
        "6 agents × 3 who do billing and technical; technical (10 min, CV 1) "
        "at high priority, 40 an hour and 220 between hours 2 and 2.5 (an "
        "outage), billing (5 min, CV 1) 60 an hour behind them; customers give "
        "up after 40 min on average",
        team(6, [BILLING, TECHNICAL], 3),
        (
            Arrivals(TECHNICAL, HIGH, ((0, 40), (2, 220), (2.5, 40))),
            steady(BILLING, 60),
        ),
        {BILLING: LogNormal(300, 1.0), TECHNICAL: LogNormal(600, 1.0)},
        hours=6,
        patience_seconds=2400,
    ),
    Scenario(
        "cold start",
        "4 agents × 3 (exponential, 5 min), 130 an hour (90 %), measured from "
        "the first minute: no handle-time history yet",
        team(4, [GENERAL], 3),
        (steady(GENERAL, 130),),
        {GENERAL: Exponential(300)},
        hours=4,
        measure_from_hour=0,
    ),
)


@dataclass(frozen=True)
class Accuracy:
    estimates: int
    unknown_share: float
    # Over estimates given (not unknown) whose customer was served.
    compared: int
    median_error: float | None
    p90_error: float | None
    within_share: float | None


def accuracy(told: Sequence[Told], pick: str) -> Accuracy:
    given = [(getattr(t, pick), t.actual) for t in told]
    known = [(estimate, actual) for estimate, actual in given if estimate is not None]
    served = [(estimate, actual) for estimate, actual in known if actual is not None]
    errors = sorted(abs(estimate - actual) for estimate, actual in served)
    within = [
        abs(estimate - actual) <= WITHIN * max(actual, FLOOR_SECONDS)
        for estimate, actual in served
    ]
    return Accuracy(
        estimates=len(given),
        unknown_share=1 - len(known) / len(given) if given else 0.0,
        compared=len(served),
        median_error=statistics.median(errors) if errors else None,
        p90_error=errors[int(0.9 * (len(errors) - 1))] if errors else None,
        within_share=sum(within) / len(within) if within else None,
    )


@dataclass(frozen=True)
class ScenarioRun:
    scenario: Scenario
    results: list[SimulationResult]
    seconds: float

    def told(self, *, updates: bool) -> list[Told]:
        return told_estimates(self.results, updates=updates)

    @property
    def customers(self) -> int:
        return sum(customer.measured for r in self.results for customer in r.customers)

    @property
    def assigned_at_once(self) -> int:
        return sum(r.assigned_at_once for r in self.results)

    def median_wait(self) -> float | None:
        waits = [t.actual for t in self.told(updates=False) if t.actual is not None]
        return statistics.median(waits) if waits else None


def run(seeds: int) -> list[ScenarioRun]:
    runs = []
    for scenario in SCENARIOS:
        started = time.perf_counter()
        results = [simulate(scenario, seed) for seed in range(1, seeds + 1)]
        runs.append(ScenarioRun(scenario, results, time.perf_counter() - started))
    return runs


# ---------------------------------------------------------------- the report


def machine() -> str:
    cpu = "unknown CPU"
    found = re.search(
        r"^model name\s*:\s*(.+)$",
        Path("/proc/cpuinfo").read_text(errors="replace"),
        re.MULTILINE,
    )
    if found:
        cpu = found.group(1).strip()
    return (
        f"{os.cpu_count() or 0}-core {cpu}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def _pair(new: str, old: str) -> str:
    return f"**{new}** / {old}"


def _row(name: str, told: Sequence[Told], median_wait: float | None) -> str:
    new, old = accuracy(told, "new"), accuracy(told, "old")
    return (
        f"| {name} | {new.estimates} | {_minutes(median_wait)} | "
        f"{_pair(_share(new.unknown_share), _share(old.unknown_share))} | "
        f"{_pair(_minutes(new.median_error), _minutes(old.median_error))} | "
        f"{_pair(_minutes(new.p90_error), _minutes(old.p90_error))} | "
        f"{_pair(_share(new.within_share), _share(old.within_share))} |"
    )


def _table(runs: Sequence[ScenarioRun], *, updates: bool) -> list[str]:
    lines = [
        "| scenario | estimates | real wait p50 (min) | unknown | median error (min) "
        "| p90 error (min) | within ±50 % |",
        "|---|---|---|---|---|---|---|",
    ]
    everything: list[Told] = []
    for scenario_run in runs:
        told = scenario_run.told(updates=updates)
        everything.extend(told)
        lines.append(_row(scenario_run.scenario.name, told, scenario_run.median_wait()))
    waits = [t.actual for t in everything if t.actual is not None]
    lines.append(
        _row("**all**", everything, statistics.median(waits) if waits else None)
    )
    return lines


def _ratio(runs: Sequence[ScenarioRun]) -> str:
    """Median error of the two on the estimates both gave."""
    both = [
        (t.new, t.old, t.actual)
        for scenario_run in runs
        for t in scenario_run.told(updates=False)
        if t.new is not None and t.old is not None and t.actual is not None
    ]
    new = statistics.median(abs(estimate - actual) for estimate, _, actual in both)
    old = statistics.median(abs(estimate - actual) for _, estimate, actual in both)
    return (
        f"On the {len(both)} first messages for which both gave a number, the "
        f"median error is {new / 60:.1f} min against {old / 60:.1f} min: "
        f"**{new / old:.2f}×** the previous formula's."
    )


def render(runs: Sequence[ScenarioRun], when: datetime, seeds: int) -> str:
    total_seconds = sum(r.seconds for r in runs)
    lines = [
        f"Measured {when:%Y-%m-%d %H:%M} UTC on {machine()}. `make bench-wait` "
        f"(`bench/wait_report.py`, `bench/wait_simulation.py`): {len(runs)} "
        f"scenarios × {seeds} seeds, simulated in {total_seconds:.0f} s.",
        "",
        "Each scenario is a discrete-event simulation of the queue under the "
        "dispatcher's rules (least-loaded agent with the skill and a free slot; "
        "priority, then arrival), with the service's own estimator "
        "(`handoff/queue/wait_estimate.py`) run on a snapshot built like the one "
        "it reads from the database. **Bold**: the estimator; after the slash: "
        "the previous formula, position × median handle time ÷ online slots, on "
        "the same queues in the same run. Errors are over the estimates given "
        "(not unknown) to customers who were then served; *within ±50 %* counts "
        "errors within half the real wait (a real wait under a minute counts as "
        "a minute). Customers who gave up have no real wait and are left out of "
        "the errors, not of *unknown*. The first hour of each scenario fills the "
        "history and is not measured, except in *cold start*.",
        "",
    ]
    for scenario_run in runs:
        scenario = scenario_run.scenario
        lines.append(
            f"- *{scenario.name}*: {scenario.description}; "
            f"{scenario_run.customers} customers measured, "
            f"{scenario_run.assigned_at_once} of them assigned at once."
        )
    lines += [
        "",
        "### At the handoff (the bot's first message)",
        "",
        *_table(runs, updates=False),
        "",
        _ratio(runs),
        "",
        "### While waiting (every minute, the remaining wait)",
        "",
        *_table(runs, updates=True),
        "",
    ]
    return "\n".join(lines)


def write_section(report: str) -> None:
    document = DOCS.read_text("utf-8")
    block = f"{START_MARKER}\n{report}{END_MARKER}"
    if START_MARKER in document and END_MARKER in document:
        before, rest = document.split(START_MARKER, 1)
        _, after = rest.split(END_MARKER, 1)
        document = before + block + after
    else:
        document = document.rstrip() + f"\n\n{SECTION_HEADING}\n\n{block}\n"
    DOCS.write_text(document, "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--write", action="store_true", help="write the section of docs/benchmarks.md"
    )
    parser.add_argument("--seeds", type=int, default=SEEDS)
    args = parser.parse_args()
    when = datetime.now(UTC)
    report = render(run(args.seeds), when, args.seeds)
    print(report)
    if args.write:
        write_section(report)
        print(f"written to {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
