"""The service's Prometheus metrics: what happened, counted as it happens.

One registry per application (two service instances in one test process keep
their own numbers). What is true of the whole queue rather than of this instance
(queue length, longest wait) is read from the database when scraped
(``handoff.observability.scrape``), so every instance reports the same numbers.
"""

from __future__ import annotations

import enum
import re

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.registry import Collector

from handoff.vocabulary import Skill

# Each counter's "_created" timestamp series doubles what is scraped for nothing.
disable_created_metrics()

# Channels a sender id names by its prefix ("telegram:12345"); anything else is
# the web chat, whose sender ids are the service's signed session ids.
MESSAGING_CHANNELS = ("telegram", "whatsapp", "sms", "kakao")
WEB_CHANNEL = "web"
# A reason is the bot's word for why it handed off; the bot sends a dozen. Labels
# beyond this many distinct ones, or not shaped like a word, are counted as "other".
MAX_REASONS = 40
OTHER = "other"
_REASON = re.compile(r"[a-z][a-z0-9_]{0,63}")

WAIT_BUCKETS = (5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600)
RELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def channel_of(sender_id: str) -> str:
    prefix, separator, _ = sender_id.partition(":")
    if separator and prefix in MESSAGING_CHANNELS:
        return prefix
    return WEB_CHANNEL


class BoundedLabel:
    """Keeps the values of one label to a bounded set, first come first kept."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit or not _REASON.fullmatch(value):
            return OTHER
        self._seen.add(value)
        return value


class IngestError(str, enum.Enum):
    """The kinds of ``tandem_service_ingest_errors_total``."""

    INVALID_EVENT = "invalid_event"
    INVALID_BATCH = "invalid_batch"
    DROPPED_BY_BOT = "dropped_by_bot"
    FAILED = "failed"


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._reasons = BoundedLabel(MAX_REASONS)
        self.handoffs_created = Counter(
            "tandem_service_handoffs_created",
            "Handoffs the bot opened, by reason and by the customer's channel.",
            ["reason", "channel"],
            registry=self.registry,
        )
        self.handoff_wait = Histogram(
            "tandem_service_handoff_wait_seconds",
            "From the customer's handoff request to an agent taking it "
            "(queued to assigned), by skill queue.",
            ["skill"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.customer_relay = Histogram(
            "tandem_service_relay_customer_seconds",
            "From a customer message reaching the service to its frame going "
            "out on the agents' live feed.",
            buckets=RELAY_BUCKETS,
            registry=self.registry,
        )
        self.agent_relay = Histogram(
            "tandem_service_relay_agent_seconds",
            "From an agent's reply reaching the service to Rasa accepting it "
            "for the customer's channel.",
            buckets=RELAY_BUCKETS,
            registry=self.registry,
        )
        self.ingest_errors = Counter(
            "tandem_service_ingest_errors",
            "Events from the bot's stream that could not be taken: invalid "
            "events kept as dead letters, whole batches refused, events the "
            "bot's broker dropped, batches that failed.",
            ["kind"],
            registry=self.registry,
        )
        self.transaction_retries = Counter(
            "tandem_service_transaction_retries",
            "Transactions PostgreSQL aborted for a lock or serialization "
            "conflict with another one, and that ran again.",
            registry=self.registry,
        )
        # Every series exists from the start, so a rate over it is never empty.
        for skill in Skill:
            self.handoff_wait.labels(skill.value)
        for kind in IngestError:
            self.ingest_errors.labels(kind.value)

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)

    def handoff_created(self, reason: str, sender_id: str) -> None:
        self.handoffs_created.labels(self._reasons(reason), channel_of(sender_id)).inc()

    def handoff_assigned(self, skill: Skill, wait_seconds: float) -> None:
        self.handoff_wait.labels(skill.value).observe(max(0.0, wait_seconds))

    def customer_messages_relayed(self, seconds: float, count: int) -> None:
        for _ in range(count):
            self.customer_relay.observe(seconds)

    def agent_reply_relayed(self, seconds: float) -> None:
        self.agent_relay.observe(seconds)

    def ingest_failed(self, kind: IngestError, count: int = 1) -> None:
        if count:
            self.ingest_errors.labels(kind.value).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
