"""The action server's Prometheus metrics: each action's time and failures, and
the handoffs the bot asked for, by reason and outcome.

One registry per process, in the process's dependencies
(``actions/dependencies.py``), so the actions rasa-sdk builds and the server's
``/metrics`` share it; tests build their own.
"""

from __future__ import annotations

import re

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)

disable_created_metrics()

OTHER = "other"
# Action names come from the authenticated Rasa server, but a label set stays
# bounded whatever is sent: the first names seen, while they look like names.
MAX_ACTIONS = 100
MAX_REASONS = 40
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class BoundedLabel:
    """Keeps one label's values to a bounded set, first come first kept."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit or not _NAME.fullmatch(value):
            return OTHER
        self._seen.add(value)
        return value


class ActionMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.action_label = BoundedLabel(MAX_ACTIONS)
        self.reason_label = BoundedLabel(MAX_REASONS)
        self.run_seconds = Histogram(
            "tandem_actions_run_seconds",
            "Time to answer one action call from Rasa, by action.",
            ["action"],
            buckets=RUN_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "tandem_actions_errors",
            "Action calls that failed: exception (the action raised) or not_found "
            "(no such action).",
            ["action", "kind"],
            registry=self.registry,
        )
        self.handoffs = Counter(
            "tandem_actions_handoffs",
            "Handoffs the bot decided on, by reason and outcome: queued, offline "
            "(out of hours: callback or ticket offered), limited (the customer's "
            "limit reached), unavailable (the handoff service could not be reached).",
            ["reason", "outcome"],
            registry=self.registry,
        )

    def handoff(self, reason: str, outcome: str) -> None:
        self.handoffs.labels(self.reason_label(reason), outcome).inc()
