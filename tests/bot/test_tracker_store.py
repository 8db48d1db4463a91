"""The tracker store on a real SQLite file, as endpoints.yml configures it."""

import json
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
    SessionStarted,
    SlotSet,
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
    for name in (
        "TANDEM_ACTIONS_URL",
        "TANDEM_ACTIONS_TOKEN",
        "TANDEM_HANDOFF_URL",
        "TANDEM_SERVICE_SECRET",
    ):
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


async def test_a_turn_that_could_not_be_stored_is_not_passed_on(
    domain: Domain, tmp_path: Path
) -> None:
    path = tmp_path / "tracker.db"
    broker = RecordingBroker()
    trackers = store(domain, path, broker)
    tracker = await trackers.get_or_create_tracker("c")
    await trackers.save(tracker)
    before = len(broker.published)
    # The database refuses the turn, as one going away in the middle of it would.
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'the database is gone'); END"
        )
    tracker.update(UserUttered("hello", {"name": "greet"}, message_id="page-1-abcdef"))

    with pytest.raises(sa.exc.IntegrityError, match="the database is gone"):
        await trackers.save(tracker)

    # Sent again, the message would otherwise reach the service twice.
    assert len(broker.published) == before


def cached_store(domain: Domain, path: Path, broker: EventBroker | None = None) -> Any:
    return TandemSQLTrackerStore(
        domain, db=str(path), event_broker=broker, cached_conversations=2
    )


def stored_events(path: Path, sender_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender_id,)
        ).fetchall()
    return [json.loads(data) for (data,) in rows]


async def test_a_cached_turn_reads_nothing_back_and_stores_every_event_once(
    domain: Domain, tmp_path: Path
) -> None:
    path = tmp_path / "tracker.db"
    broker = RecordingBroker()
    trackers = cached_store(domain, path, broker)
    tracker = await trackers.get_or_create_tracker("c")
    tracker = await trackers.retrieve("c")
    assert tracker is not None
    statements: list[str] = []
    sa.event.listen(
        trackers.engine,
        "before_cursor_execute",
        lambda _c, _u, statement, *_: statements.append(statement),
    )
    for text in ("hello", "bill?", "thanks"):
        tracker = await trackers.retrieve("c")
        assert tracker is not None
        tracker.update(UserUttered(text, {"name": "greet"}))
        tracker.update(BotUttered(f"re: {text}"))
        await trackers.save(tracker)
    assert all(
        statement.lstrip().upper().startswith("INSERT") for statement in statements
    )
    assert len(statements) == 3

    final = await trackers.retrieve("c")
    assert final is not None
    from_database = await store(domain, path).retrieve("c")
    assert from_database is not None
    assert [event.as_dict() for event in final.events] == [
        event.as_dict() for event in from_database.events
    ]
    assert stored_events(path, "c") == [event.as_dict() for event in final.events]
    assert [event["event"] for event in broker.published] == [
        event.type_name for event in final.events
    ]


async def test_a_failed_save_leaves_the_cache_as_the_database(
    domain: Domain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tracker.db"
    trackers = cached_store(domain, path)
    tracker = await trackers.get_or_create_tracker("c")
    tracker = await trackers.retrieve("c")
    assert tracker is not None
    tracker.update(UserUttered("lost", {"name": "greet"}))

    def fail(*_: Any, **__: Any) -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))

    with monkeypatch.context() as patch:
        patch.setattr(sa.orm.Session, "execute", fail)
        with pytest.raises(sa.exc.OperationalError):
            await trackers.save(tracker)
    again = await trackers.retrieve("c")
    assert again is not None
    assert "lost" not in [getattr(event, "text", None) for event in again.events]
    again.update(UserUttered("kept", {"name": "greet"}))
    await trackers.save(again)
    assert [event.get("text") for event in stored_events(path, "c")].count("kept") == 1
    assert [event.get("text") for event in stored_events(path, "c")].count("lost") == 0


async def test_a_new_session_is_read_from_the_database_again(
    domain: Domain, tmp_path: Path
) -> None:
    path = tmp_path / "tracker.db"
    trackers = cached_store(domain, path)
    tracker = await trackers.get_or_create_tracker("c")
    tracker.update(UserUttered("first session", {"name": "greet"}))
    await trackers.save(tracker)
    tracker = await trackers.retrieve("c")
    assert tracker is not None
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(UserUttered("second session", {"name": "greet"}))
    await trackers.save(tracker)

    cached = await trackers.retrieve("c")
    from_database = await store(domain, path).retrieve("c")
    assert cached is not None and from_database is not None
    texts = [getattr(event, "text", None) for event in cached.events]
    assert "second session" in texts and "first session" not in texts
    assert [event.as_dict() for event in cached.events] == [
        event.as_dict() for event in from_database.events
    ]


async def test_the_cache_keeps_only_the_latest_conversations(
    domain: Domain, tmp_path: Path
) -> None:
    trackers = cached_store(domain, tmp_path / "tracker.db")
    for sender_id in ("a", "b", "c"):
        await trackers.get_or_create_tracker(sender_id)
        await trackers.retrieve(sender_id)
    assert len(trackers.cache) == 2
    assert trackers.cache.get("a") is None
    assert await trackers.retrieve("a") is not None
    assert await trackers.retrieve("nobody") is None
    assert trackers.cache.get("nobody") is None


@pytest.mark.parametrize("value", ["500", 2.5, True, -1])
def test_a_wrong_cache_size_is_refused(
    domain: Domain, tmp_path: Path, value: Any
) -> None:
    with pytest.raises(ValueError, match="cached_conversations"):
        TandemSQLTrackerStore(
            domain, db=str(tmp_path / "t.db"), cached_conversations=value
        )


async def test_a_new_conversation_is_cached_from_its_first_save(
    domain: Domain, tmp_path: Path
) -> None:
    path = tmp_path / "tracker.db"
    trackers = cached_store(domain, path)
    created = await trackers.get_or_create_tracker("new")
    statements: list[str] = []
    sa.event.listen(
        trackers.engine,
        "before_cursor_execute",
        lambda _c, _u, statement, *_: statements.append(statement),
    )
    tracker = await trackers.retrieve("new")
    assert statements == []
    assert tracker is not None
    assert [event.as_dict() for event in tracker.events] == [
        event.as_dict() for event in created.events
    ]
    assert stored_events(path, "new") == [event.as_dict() for event in tracker.events]


async def test_stored_and_published_text_is_masked_while_the_slot_keeps_the_number(
    domain: Domain, tmp_path: Path
) -> None:
    broker = RecordingBroker()
    path = tmp_path / "tracker.db"
    trackers = store(domain, path, broker)
    tracker = await trackers.get_or_create_tracker("c")
    text = "제 번호는 010-1234-5678이고 카드는 4111 1111 1111 1111이에요"
    entity = {"entity": "phone_number", "start": 6, "end": 19}
    tracker.update(
        UserUttered(
            text,
            {"name": "inform"},
            [{**entity, "value": "010-1234-5678"}],
            parse_data={"text": text, "intent": {"name": "inform"}},
        )
    )
    tracker.update(SlotSet("phone_number", "01012345678"))
    # The turn itself still sees what the customer typed.
    assert tracker.latest_message is not None
    assert tracker.latest_message.text == text
    await trackers.save(tracker)

    masked = "제 번호는 010-****-5678이고 카드는 **** **** **** 1111이에요"
    stored = [
        json.loads(data)
        for (data,) in sqlite3.connect(path).execute(
            "SELECT data FROM events WHERE type_name = 'user'"
        )
    ]
    assert [event["text"] for event in stored] == [masked]
    assert stored[0]["parse_data"]["text"] == masked
    assert stored[0]["parse_data"]["entities"] == [{**entity, "value": "010-****-5678"}]
    published = [event for event in broker.published if event["event"] == "user"]
    assert [event["text"] for event in published] == [masked]
    restored = await store(domain, path).retrieve("c")
    assert restored is not None
    assert restored.get_slot("phone_number") == "01012345678"
