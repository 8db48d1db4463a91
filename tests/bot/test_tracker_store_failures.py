"""A tracker store that fails makes the turn fail (bot/tracker_store_failures.py),
where Rasa's own wrapper would answer the customer as a stranger and keep the turn
in one server's memory: the real store on SQLite, its database refusing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.agent import Agent
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered

from bot import tracker_store_failures
from bot.tracker_store import TandemSQLTrackerStore
from tests.bot.test_tracker_store import ROOT, RecordingBroker


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(ROOT / "domain.yml")


def refusing(path: Path) -> None:
    """The database refuses every new event, as one going away would."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'the database is gone'); END"
        )


async def stored_conversation(
    domain: Domain, path: Path, broker: RecordingBroker
) -> tuple[TandemSQLTrackerStore, object]:
    store = TandemSQLTrackerStore(domain, db=str(path), event_broker=broker)
    tracker = await store.get_or_create_tracker("c")
    await store.save(tracker)
    tracker.update(UserUttered("상담원 연결해 주세요", {"name": "request_human"}))
    return store, tracker


async def test_rasas_own_wrapper_keeps_a_refused_turn_in_memory(
    domain: Domain, tmp_path: Path
) -> None:
    broker = RecordingBroker()
    store, tracker = await stored_conversation(domain, tmp_path / "t.db", broker)
    refusing(tmp_path / "t.db")
    before = len(broker.published)

    await FailSafeTrackerStore(store).save(tracker)  # type: ignore[arg-type]

    # No error: the turn went to this process's memory and on to the service,
    # and the database, which every server reads, does not have it.
    assert len(broker.published) > before
    stored = await store.retrieve("c")
    assert stored is not None
    assert not [e for e in stored.events if isinstance(e, UserUttered)]


async def test_a_refused_turn_fails_and_goes_nowhere(
    domain: Domain, tmp_path: Path
) -> None:
    broker = RecordingBroker()
    store, tracker = await stored_conversation(domain, tmp_path / "t.db", broker)
    refusing(tmp_path / "t.db")
    before = len(broker.published)
    wrapped = tracker_store_failures.loud(store)

    with pytest.raises(sa.exc.IntegrityError, match="the database is gone"):
        await wrapped.save(tracker)  # type: ignore[arg-type]

    assert len(broker.published) == before
    assert wrapped._fallback_tracker_store is None


async def test_a_conversation_that_cannot_be_read_is_not_a_new_one(
    domain: Domain, tmp_path: Path
) -> None:
    store = TandemSQLTrackerStore(domain, db=str(tmp_path / "t.db"))
    await store.save(await store.get_or_create_tracker("c"))
    with sqlite3.connect(tmp_path / "t.db") as connection:
        connection.execute("DROP TABLE events")

    assert await FailSafeTrackerStore(store).retrieve("c") is None
    with pytest.raises(sa.exc.OperationalError, match="no such table"):
        await tracker_store_failures.loud(store).retrieve("c")


def test_install_makes_every_agents_store_raise(domain: Domain, tmp_path: Path) -> None:
    store = TandemSQLTrackerStore(domain, db=str(tmp_path / "t.db"))
    try:
        tracker_store_failures.install()
        tracker_store_failures.install()
        created = Agent._create_tracker_store(store, domain)
    finally:
        tracker_store_failures.uninstall()
    plain = Agent._create_tracker_store(store, domain)

    assert isinstance(created, FailSafeTrackerStore)
    assert created._tracker_store is store
    assert created._on_tracker_store_error is tracker_store_failures.raise_it
    assert isinstance(plain, FailSafeTrackerStore)
    assert plain._on_tracker_store_error is None
