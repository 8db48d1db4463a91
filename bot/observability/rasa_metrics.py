"""The Rasa server's Prometheus metrics.

One registry per Rasa process, made when the process first asks for it: Rasa
builds the event broker and the processor itself, from ``endpoints.yml`` and
the model, so they find the metrics here rather than being handed them. A Rasa
server runs one Sanic worker here (socket.io's rooms are in one process's
memory); several Rasa processes are several scrape targets, each with its own
``/metrics``.

Label values are bounded: intents and actions by the model's domain (a customer
can type ``/any_name`` to make Rasa take it as an intent), channels by Rasa's
input channels; anything else is ``other``.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

disable_created_metrics()

OTHER = "other"
NO_INTENT = "none"
NLU_FALLBACK_INTENT = "nlu_fallback"
# Rasa's own core fallback and the project's (config.yml, RulePolicy).
CORE_FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_core_fallback"})
RESPONSE_PREFIX = "utter_"
# Rasa's input channels by name; "rest" covers the token REST channel.
KNOWN_CHANNELS = frozenset(
    {
        "socketio",
        "rest",
        "callback",
        "telegram",
        "whatsapp",
        "twilio",
        "kakao",
        "sms",
        "facebook",
        "slack",
        "cmdline",
    }
)
NLU_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
ACTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def bounded(value: str | None, known: Collection[str]) -> str:
    if value is None:
        return NO_INTENT
    return value if value in known else OTHER


def action_label(name: str, known: Collection[str]) -> str:
    """Responses are one series (``response``); other actions by name."""
    if name.startswith(RESPONSE_PREFIX):
        return "response"
    return name if name in known else OTHER


class RasaMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_received = Counter(
            "tandem_rasa_messages_received",
            "Customer messages Rasa handled, by input channel.",
            ["channel"],
            registry=self.registry,
        )
        self.messages_sent = Counter(
            "tandem_rasa_messages_sent",
            "Messages sent to customers: the bot's, agents' replies relayed by the "
            "handoff service, and the service's queue notices.",
            ["source"],
            registry=self.registry,
        )
        self.intents = Counter(
            "tandem_rasa_intents_predicted",
            "Intents the NLU predicted, by name (the domain's, else other).",
            ["intent"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "tandem_rasa_fallbacks",
            "Messages the bot could not place: nlu (below the NLU threshold) or "
            "core (no rule or story went on from it).",
            ["kind"],
            registry=self.registry,
        )
        self.nlu_seconds = Histogram(
            "tandem_rasa_nlu_seconds",
            "Time to parse one message (the whole NLU pipeline).",
            buckets=NLU_BUCKETS,
            registry=self.registry,
        )
        self.action_seconds = Histogram(
            "tandem_rasa_action_seconds",
            "Time to run one predicted action, custom actions' calls to the action "
            "server and sending what it says included; responses as one series.",
            ["action"],
            buckets=ACTION_BUCKETS,
            registry=self.registry,
        )
        self.action_failures = Counter(
            "tandem_rasa_action_failures",
            "Actions that raised (the action server unreachable or failing); the "
            "bot goes on without their events.",
            ["action"],
            registry=self.registry,
        )
        self.broker_backlog = Gauge(
            "tandem_rasa_broker_backlog_events",
            "Events the event broker holds on disk for the handoff service.",
            registry=self.registry,
        )
        self.broker_delivered = Counter(
            "tandem_rasa_broker_delivered_events",
            "Events the handoff service acknowledged.",
            registry=self.registry,
        )
        self.broker_failures = Counter(
            "tandem_rasa_broker_failures",
            "Event broker trouble: retry (a batch the service did not take, sent "
            "again), rejected (refused for good), dropped (oldest events dropped, "
            "the buffer full), lost (an event that could not be buffered).",
            ["kind"],
            registry=self.registry,
        )
        for kind in ("nlu", "core"):
            self.fallbacks.labels(kind)
        for kind in ("retry", "rejected", "dropped", "lost"):
            self.broker_failures.labels(kind)


@lru_cache(maxsize=1)
def rasa_metrics() -> RasaMetrics:
    """This process's metrics."""
    return RasaMetrics()
