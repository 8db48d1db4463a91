"""The tracker store on a real SQLite file, as endpoints.yml configures it."""

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    UserUttered,
)
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from bot.tracker_store import TandemSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]


class RecordingBroker(EventBroker):
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(ROOT / "domain.yml")


def store(domain: Domain, path: Path, broker: EventBroker | None = None) -> Any:
    return TandemSQLTrackerStore(domain, db=str(path), event_broker=broker)


async def test_endpoints_yml_loads_this_store(
    domain: Domain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDEM_TRACKER_DB", str(tmp_path / "tracker.db"))
    for name in ("TANDEM_ACTIONS_URL", "TANDEM_HANDOFF_URL", "TANDEM_SERVICE_SECRET"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store")
    assert isinstance(config, EndpointConfig)
    # Rasa falls back to an in-memory store, with a mere warning, when it cannot
    # import a custom one; conversations would then not survive a restart.
    assert isinstance(create_tracker_store(config, domain), TandemSQLTrackerStore)


async def test_the_database_runs_in_wal_mode(domain: Domain, tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    trackers = store(domain, path)
    tracker = await trackers.get_or_create_tracker("c")
    await trackers.save(tracker)
    with sqlite3.connect(path) as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
    with trackers.engine.connect() as connection:
        (synchronous,) = connection.exec_driver_sql("PRAGMA synchronous").fetchone()
    assert synchronous == 1  # NORMAL


async def test_turns_reuse_one_connection(domain: Domain, tmp_path: Path) -> None:
    trackers = store(domain, tmp_path / "tracker.db")
    connections: list[Any] = []
    sa.event.listen(trackers.engine, "connect", lambda *_: connections.append(1))
    tracker = await trackers.get_or_create_tracker("c")
    for text in ("hello", "bill?", "thanks"):
        tracker.update(UserUttered(text, {"name": "greet"}))
        await trackers.save(tracker)
        assert await trackers.retrieve("c") is not None
    assert len(connections) <= 1


async def test_a_conversation_survives_a_restart_and_stays_paused(
    domain: Domain, tmp_path: Path
) -> None:
    path = tmp_path / "tracker.db"
    trackers = store(domain, path)
    tracker = await trackers.get_or_create_tracker("c")
    tracker.update(UserUttered("I want a person", {"name": "request_human"}))
    tracker.update(ActionExecuted("action_handoff"))
    tracker.update(ConversationPaused())
    await trackers.save(tracker)
    tracker.update(UserUttered("hello?", {"name": "greet"}))
    await trackers.save(tracker)

    restarted = store(domain, path)
    again = await restarted.retrieve("c")
    assert again is not None
    assert again.is_paused()
    assert [event.as_dict() for event in again.events] == [
        event.as_dict() for event in tracker.events
    ]


async def test_every_new_event_reaches_the_broker_once(
    domain: Domain, tmp_path: Path
) -> None:
    broker = RecordingBroker()
    trackers = store(domain, tmp_path / "tracker.db", broker)
    tracker = await trackers.get_or_create_tracker("c")
    await trackers.save(tracker)
    tracker.update(UserUttered("hello", {"name": "greet"}))
    tracker.update(BotUttered("Hi!"))
    await trackers.save(tracker)
    await trackers.save(tracker)

    published = [(event["sender_id"], event["event"]) for event in broker.published]
    expected = [("c", event.type_name) for event in tracker.events]
    assert published == expected
    assert broker.published[-1]["text"] == "Hi!"
