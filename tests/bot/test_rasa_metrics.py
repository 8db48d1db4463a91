"""The Rasa server's metrics and readiness, from a real Rasa agent handling messages,
and the event broker's, against a local stand-in for the handoff service."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.model_training import train
from rasa.shared.core.events import BotUttered
from sqlalchemy.orm import sessionmaker

from bot.observability import processor_hooks
from bot.observability.logs import ConversationFilter, JsonFormatter, log_id_for
from bot.observability.rasa_metrics import RasaMetrics, action_label, bounded
from bot.observability.rasa_routes import _conversation_of, readiness
from bot.tracker_store import TandemSQLTrackerStore
from tests.bot.test_event_broker import (
    FakeService,
    ServerFactory,
    fast_broker,
    start_service,
    user_event,
)

DOMAIN = """version: "3.1"
intents: [greet, check_bill]
actions: [action_check_bill]
responses:
  utter_greet:
    - text: Hello!
  utter_please_rephrase:
    - text: Sorry?
"""
CONFIG = """recipe: default.v1
language: en
assistant_id: metrics_test
pipeline:
  - name: WhitespaceTokenizer
  - name: KeywordIntentClassifier
  - name: FallbackClassifier
    threshold: 0.5
policies:
  - name: RulePolicy
"""
NLU = """version: "3.1"
nlu:
  - intent: greet
    examples: |
      - hello
  - intent: check_bill
    examples: |
      - bill
"""
RULES = """version: "3.1"
rules:
  - rule: greet
    steps:
      - intent: greet
      - action: utter_greet
  - rule: bill
    steps:
      - intent: check_bill
      - action: action_check_bill
  - rule: rephrase
    steps:
      - intent: nlu_fallback
      - action: utter_please_rephrase
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(metrics: RasaMetrics) -> Samples:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("metrics-model")
    files = {
        "domain.yml": DOMAIN,
        "config.yml": CONFIG,
        "nlu.yml": NLU,
        "rules.yml": RULES,
    }
    for name, content in files.items():
        (folder / name).write_text(content, "utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RASA_CACHE_DIRECTORY", str(folder / "cache"))
        result = train(
            str(folder / "domain.yml"),
            str(folder / "config.yml"),
            [str(folder / "nlu.yml"), str(folder / "rules.yml")],
            str(folder / "models"),
        )
    assert result.model is not None
    return result.model


@pytest.fixture
def metrics() -> Iterator[RasaMetrics]:
    fresh = RasaMetrics()
    processor_hooks.install(fresh)
    yield fresh
    processor_hooks.uninstall()


async def say(agent: Agent, text: str, sender_id: str = "telegram:77") -> list[Any]:
    channel = CollectingOutputChannel()
    await agent.handle_message(
        UserMessage(text, channel, sender_id, input_channel="telegram")
    )
    return channel.messages


async def test_a_real_agent_moves_the_counters(
    model: str, metrics: RasaMetrics
) -> None:
    agent = Agent.load(model)

    assert [message["text"] for message in await say(agent, "hello")] == ["Hello!"]
    assert [message["text"] for message in await say(agent, "qwerty")] == ["Sorry?"]
    # No action server is configured, so the custom action fails; the bot goes on.
    assert await say(agent, "bill") == []
    # A customer may type an intent name; Rasa takes one outside the domain as text.
    assert [message["text"] for message in await say(agent, "/made_up")] == ["Sorry?"]

    found = samples(metrics)
    received = "tandem_rasa_messages_received_total"
    assert value(found, received, channel="telegram") == 4
    intents = "tandem_rasa_intents_predicted_total"
    assert value(found, intents, intent="greet") == 1
    assert value(found, intents, intent="check_bill") == 1
    assert value(found, intents, intent="nlu_fallback") == 2
    assert value(found, intents, intent="made_up") == 0
    assert value(found, "tandem_rasa_fallbacks_total", kind="nlu") == 2
    assert value(found, "tandem_rasa_messages_sent_total", source="bot") == 3
    assert value(found, "tandem_rasa_nlu_seconds_count") == 4
    actions = "tandem_rasa_action_seconds_count"
    assert value(found, actions, action="response") == 3
    assert value(found, actions, action="action_check_bill") == 1
    assert value(found, actions, action="action_listen") >= 3
    failures = "tandem_rasa_action_failures_total"
    assert value(found, failures, action="action_check_bill") == 1
    assert value(found, failures, action="response") == 0


async def test_agents_replies_and_notices_are_told_apart(
    model: str, metrics: RasaMetrics
) -> None:
    agent = Agent.load(model)
    tracker = await agent.tracker_store.get_or_create_tracker("c0ffee")
    assert agent.processor is not None
    channel = CollectingOutputChannel()

    await agent.processor.execute_side_effects(
        [
            BotUttered("From Mina", metadata={"tandem_message_id": 3, "agent": "Mina"}),
            BotUttered("You are second", metadata={"tandem_notice": True}),
        ],
        tracker,
        channel,
    )

    found = samples(metrics)
    sent = "tandem_rasa_messages_sent_total"
    assert value(found, sent, source="agent") == 1
    assert value(found, sent, source="notice") == 1
    assert len(channel.messages) == 2


async def test_a_turn_logs_under_its_conversation_id(
    model: str, metrics: RasaMetrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_SERVICE_SECRET", "shared")
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(ConversationFilter())
    handler.setFormatter(JsonFormatter("rasa"))
    logging.getLogger().addHandler(handler)
    try:
        agent = Agent.load(model)
        await say(agent, "bill", sender_id="telegram:77")
    finally:
        logging.getLogger().removeHandler(handler)

    lines = [json.loads(line) for line in records]
    turn = [line for line in lines if line.get("conversation_id")]
    assert turn, lines
    assert {line["conversation_id"] for line in turn} == {log_id_for("telegram:77")}
    assert any("action_check_bill" in line["message"] for line in turn)
    assert not any("telegram:77" in record for record in records)


async def test_ready_once_the_model_and_the_tracker_store_answer(
    model: str, tmp_path: Path
) -> None:
    store = TandemSQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
    agent = Agent.load(model, tracker_store=store)

    answer = await readiness(agent)

    assert answer.status == 200
    assert json.loads(answer.body) == {
        "status": "ok",
        "checks": {"model": "ok", "tracker_store": "ok"},
    }


async def test_not_ready_while_the_tracker_store_is_down(
    model: str, tmp_path: Path, unused_tcp_port: int
) -> None:
    store = TandemSQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
    agent = Agent.load(model, tracker_store=store)
    # The store's database server stops answering: nothing listens on its port.
    store.engine = sa.create_engine(
        f"postgresql://nobody@127.0.0.1:{unused_tcp_port}/tracker"
    )
    store.sessionmaker = sessionmaker(bind=store.engine)

    answer = await readiness(agent)

    assert answer.status == 503
    assert json.loads(answer.body) == {
        "status": "unavailable",
        "failing": ["tracker_store"],
        "checks": {"model": "ok", "tracker_store": "unavailable"},
    }


async def test_not_ready_before_the_model_is_loaded() -> None:
    answer = await readiness(None)

    assert answer.status == 503
    assert json.loads(answer.body)["failing"] == ["model", "tracker_store"]


async def test_ready_but_degraded_while_the_handoff_service_is_down(
    model: str, tmp_path: Path, unused_tcp_port: int
) -> None:
    broker = fast_broker(
        f"http://127.0.0.1:{unused_tcp_port}",
        tmp_path / "broker.db",
        metrics=RasaMetrics(),
    )
    broker.publish(user_event("waiting"))
    agent = Agent.load(model, tracker_store=InMemoryTrackerStore(None, broker))

    answer = await readiness(agent)

    assert answer.status == 200
    assert json.loads(answer.body) == {
        "status": "degraded",
        "checks": {
            "model": "ok",
            "tracker_store": "ok",
            "handoff_service": "unavailable",
        },
        "event_broker_backlog": 1,
    }
    await broker.close()


def test_labels_stay_within_the_domain() -> None:
    assert bounded("greet", {"greet"}) == "greet"
    assert bounded("made_up", {"greet"}) == "other"
    assert bounded(None, {"greet"}) == "none"
    assert action_label("utter_greet", {"utter_greet"}) == "response"
    assert action_label("action_handoff", {"action_handoff"}) == "action_handoff"
    assert action_label("action_unknown", {"action_handoff"}) == "other"


def test_calls_about_a_conversation_are_named_by_its_id() -> None:
    assert _conversation_of("/conversations/telegram%3A7/tracker/events") == (
        "telegram:7"
    )
    assert _conversation_of("/conversations/a/b/trigger_intent") == "a/b"
    assert _conversation_of("/conversations/abc/tracker") == "abc"
    assert _conversation_of("/status") is None
    assert _conversation_of("/conversations/abc/unknown") is None


async def test_the_broker_reports_its_backlog_deliveries_and_failures(
    aiohttp_server: ServerFactory, unused_tcp_port: int, tmp_path: Path
) -> None:
    metrics = RasaMetrics()
    url = f"http://127.0.0.1:{unused_tcp_port}"
    broker = fast_broker(url, tmp_path / "broker.db", buffer_size=3, metrics=metrics)
    for number in range(5):
        broker.publish(user_event(f"m{number}"))
    assert not await broker.flush(timeout=0.3)

    while_down = samples(metrics)
    assert value(while_down, "tandem_rasa_broker_backlog_events") == 3
    failures = "tandem_rasa_broker_failures_total"
    assert value(while_down, failures, kind="dropped") == 2
    assert value(while_down, failures, kind="retry") >= 1

    fake, _ = await start_service(aiohttp_server, unused_tcp_port)
    assert isinstance(fake, FakeService)
    fake.statuses = [400]
    assert await broker.flush(timeout=10)
    broker.publish(user_event("after"))
    assert await broker.flush(timeout=10)

    after = samples(metrics)
    assert value(after, "tandem_rasa_broker_backlog_events") == 0
    assert value(after, failures, kind="rejected") == 3
    assert value(after, "tandem_rasa_broker_delivered_events_total") == 1
    await broker.close()
