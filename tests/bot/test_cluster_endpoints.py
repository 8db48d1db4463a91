"""deploy/endpoints.cluster.yml, read by Rasa as the clustered Rasa servers read it,
against the real PostgreSQL and Redis servers (TANDEM_TEST_POSTGRES_URL,
TANDEM_TEST_REDIS_URL): two servers see one conversation store and one lock store.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.lock_store import RedisTicketLockStore
from bot.tracker_store import TandemSQLTrackerStore

ROOT = Path(__file__).resolve().parents[2]
ENDPOINTS = ROOT / "deploy" / "endpoints.cluster.yml"
POSTGRES_URL = make_url(
    os.environ.get(
        "TANDEM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
)
REDIS_URL = make_url(
    os.environ.get("TANDEM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
)

pytestmark = pytest.mark.postgres


def admin_connection() -> psycopg2.extensions.connection:
    connection = psycopg2.connect(
        host=POSTGRES_URL.host,
        port=POSTGRES_URL.port or 5432,
        user=POSTGRES_URL.username,
        password=POSTGRES_URL.password or "",
        dbname=POSTGRES_URL.database,
    )
    connection.autocommit = True
    return connection


@pytest.fixture
def tracker_database() -> Iterator[str]:
    name = f"tandem_cluster_{secrets.token_hex(6)}"
    connection = admin_connection()
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.close()


@pytest.fixture
def endpoints(
    tracker_database: str, monkeypatch: pytest.MonkeyPatch
) -> AvailableEndpoints:
    settings = {
        "TANDEM_ACTIONS_URL": "http://127.0.0.1:5055/webhook",
        "TANDEM_ACTIONS_TOKEN": "actions-token",
        "TANDEM_TRACKER_DB_HOST": f"{POSTGRES_URL.host}:{POSTGRES_URL.port or 5432}",
        "TANDEM_TRACKER_DB": tracker_database,
        "TANDEM_TRACKER_DB_USER": POSTGRES_URL.username or "",
        "TANDEM_TRACKER_DB_PASSWORD": POSTGRES_URL.password or "",
        "TANDEM_REDIS_HOST": REDIS_URL.host or "127.0.0.1",
        "TANDEM_REDIS_PORT": str(REDIS_URL.port or 6379),
        "TANDEM_REDIS_PASSWORD": REDIS_URL.password or "",
        "TANDEM_HANDOFF_URL": "http://127.0.0.1:8080",
        "TANDEM_SERVICE_SECRET": "service-secret",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return AvailableEndpoints.read_endpoints(str(ENDPOINTS))


def test_every_variable_the_file_names_must_be_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("TANDEM_"):
            monkeypatch.delenv(name)

    with pytest.raises(Exception, match="TANDEM_"):
        AvailableEndpoints.read_endpoints(str(ENDPOINTS))


async def test_two_servers_share_every_conversation(
    endpoints: AvailableEndpoints,
) -> None:
    domain = Domain.empty()
    first = TrackerStore.create(endpoints.tracker_store, domain=domain)
    second = TrackerStore.create(endpoints.tracker_store, domain=domain)
    assert isinstance(first, TandemSQLTrackerStore)
    assert first.engine.dialect.name == "postgresql"
    # Nothing is kept in memory: the other server's turns are always read.
    assert first.cache is None

    sender_id = f"cluster-{secrets.token_hex(4)}"
    tracker = DialogueStateTracker.from_events(
        sender_id,
        [ActionExecuted("action_listen"), UserUttered("안녕하세요", {"name": "greet"})],
    )

    await first.save(tracker)
    seen = await second.retrieve(sender_id)

    assert seen is not None
    assert [event.as_dict()["event"] for event in seen.events] == ["action", "user"]
    assert seen.latest_message is not None
    assert seen.latest_message.text == "안녕하세요"


async def test_a_conversation_locked_on_one_server_is_locked_on_the_other(
    endpoints: AvailableEndpoints,
) -> None:
    first = LockStore.create(endpoints.lock_store)
    second = LockStore.create(endpoints.lock_store)
    assert isinstance(first, RedisTicketLockStore)
    assert isinstance(second, RedisTicketLockStore)
    conversation_id = f"cluster-{secrets.token_hex(4)}"
    order: list[str] = []

    async def second_server() -> None:
        async with second.lock(conversation_id, wait_time_in_seconds=0.05):
            order.append("second in")

    try:
        async with first.lock(conversation_id):
            waiting = asyncio.create_task(second_server())
            await asyncio.sleep(0.3)
            # The other server waits its turn while this one holds the lock.
            order.append("first out")
        await asyncio.wait_for(waiting, timeout=10)
        assert order == ["first out", "second in"]
    finally:
        await first.close()
        await second.close()
