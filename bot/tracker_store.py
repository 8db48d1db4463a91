"""Rasa's SQL tracker store, with what a turn costs on SQLite taken out.

Configured in ``endpoints.yml`` with the same options as Rasa's ``SQL`` store::

    tracker_store:
      type: bot.tracker_store.TandemSQLTrackerStore
      dialect: sqlite
      db: var/rasa_tracker.db

Four changes, measured in docs/benchmarks.md ("Bot reply latency"):

- On SQLite the database runs in WAL mode with ``synchronous=NORMAL``: a commit no
  longer waits for the disk (Rasa's default rollback journal syncs it several times
  a commit). A committed turn survives a restart of Rasa; only a power cut can lose the
  latest turns.
- On SQLite the connection stays open. SQLAlchemy 1.4 opens and closes a SQLite file
  connection for every session, and closing the last connection of a WAL database
  checkpoints it; Rasa opens a session for every read and every save.
- Saving a turn reads the conversation once, not twice. Rasa's ``save`` first loads and
  replays the whole stored conversation to find which events are new for the event
  broker, then counts the stored events to find which to insert; both are the events
  after the stored ones, so one count serves both. The new rows go in with one
  ``INSERT`` of many rows instead of one ORM object each.
- With ``cached_conversations: N`` the events of the N most recent conversations stay
  in memory (``bot/conversation_cache.py``): a turn rebuilds its conversation from
  them instead of reading it from the database, and its save needs no count. Only for
  a database that this Rasa process alone writes (off by default): the store refuses
  to start with it when ``TANDEM_RASA_INSTANCES`` or ``SANIC_WORKERS`` say that more
  than one process writes (``bot/cluster_settings.py``).

Saves made inside a conversation's lock are fenced (``bot/conversation_fence.py``): the
lock's ticket is written in the same transaction as the events, and a save whose ticket
is older than one already written is refused, so a turn whose lock lapsed while its
server stalled cannot write over the turn another server handled meanwhile.

One more, for privacy: the text of every message is masked before it is stored or
handed to the event broker (``bot/personal_data.py``): card, resident registration,
phone and bank account numbers keep only a few digits. The NLU and the actions saw the
raw text during the turn; what the bot needs to keep (a verified phone number, a
customer id) stays in its slot.

Everything else (schema, sessions, retrieval, PostgreSQL) is Rasa's own.
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from bot import conversation_fence
from bot.cluster_settings import check_cache
from bot.conversation_cache import ConversationCache, StoredRow
from bot.conversation_fence import held_ticket
from bot.personal_data import default_masker, mask_event

SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


def _set_sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


class TandemSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` with a pooled WAL connection on SQLite and a single read
    per save."""

    def __init__(
        self,
        domain: Domain | None = None,
        dialect: str = "sqlite",
        host: str | None = None,
        port: int | None = None,
        db: str = "rasa.db",
        username: str | None = None,
        password: str | None = None,
        event_broker: EventBroker | None = None,
        login_db: str | None = None,
        query: dict[str, Any] | None = None,
        cached_conversations: int = 0,
        **kwargs: Any,
    ) -> None:
        if (
            isinstance(cached_conversations, bool)
            or not isinstance(cached_conversations, int)
            or cached_conversations < 0
        ):
            raise ValueError(
                "cached_conversations must be a whole number >= 0, not "
                f"{cached_conversations!r}"
            )
        check_cache(cached_conversations, os.environ)
        self.cache = (
            ConversationCache(cached_conversations) if cached_conversations else None
        )
        self.masker = default_masker()
        super().__init__(
            domain,
            dialect,
            host,
            port,
            db,
            username,
            password,
            event_broker,
            login_db,
            query,
            **kwargs,
        )
        engine: sa.engine.Engine = self.engine  # type: ignore[has-type]
        if engine.dialect.name == "sqlite" and engine.url.database:
            url = engine.url
            engine.dispose()
            # Rasa uses its sessions from the event loop's thread only, one at a
            # time, so the pooled connection needs no thread check.
            self.engine = sa.create_engine(
                url,
                poolclass=QueuePool,
                connect_args={"check_same_thread": False},
            )
            # WAL is stored in the file; synchronous is set per connection.
            sa.event.listen(self.engine, "connect", _set_sqlite_pragmas)
            self.sessionmaker = sessionmaker(bind=self.engine)
        conversation_fence.create_table(self.engine)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation's latest session, from memory if it is cached."""
        if self.cache is None:
            return await super().retrieve(sender_id)
        entry = self.cache.get(sender_id)
        if entry is None:
            with self.session_scope() as session:
                rows = [
                    StoredRow(row.type_name, row.timestamp, row.data)
                    for row in self._event_query(
                        session, sender_id, fetch_events_from_all_sessions=False
                    ).all()
                ]
            if not rows:
                return None
            entry = self.cache.load(sender_id, rows)
        if self.domain is None:
            return None
        events = [json.loads(data) for data in entry.rows]
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Inserts the events not yet stored, and once they are committed hands them
        to the event broker: a turn that could not be stored (the database gone
        in the middle of it) is not passed on, so the customer's message sent again
        is not the second copy of one the service already has."""
        sender_id = tracker.sender_id
        entry = self.cache.get(sender_id) if self.cache is not None else None
        published: list[dict[str, Any]] = []
        with self.session_scope() as session:
            if entry is not None:
                stored = len(entry.rows)
            else:
                stored = self._event_query(
                    session, sender_id, fetch_events_from_all_sessions=False
                ).count()
            rows = []
            for event in itertools.islice(tracker.events, stored, None):
                data = mask_event(event.as_dict(), self.masker)
                published.append({"sender_id": sender_id, **data})
                rows.append(
                    {
                        "sender_id": sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {})
                        .get("intent", {})
                        .get(INTENT_NAME_KEY),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            ticket = held_ticket(sender_id)
            if ticket is not None:
                conversation_fence.advance(session, sender_id, ticket)
            if rows:
                # One executemany instead of the ORM's unit of work per event.
                session.execute(sa.insert(self.SQLEvent.__table__), rows)
            session.commit()
        if self.event_broker is not None:
            for event_data in published:
                self.event_broker.publish(event_data)
        if self.cache is None or not rows:
            return
        new_rows = [
            StoredRow(row["type_name"], row["timestamp"], row["data"]) for row in rows
        ]
        if entry is None and stored == 0:
            # Nothing was stored for this conversation: what is stored now is all.
            self.cache.load(sender_id, new_rows)
        else:
            self.cache.append(sender_id, new_rows)

    def publish_again(self, tracker: DialogueStateTracker, first: int) -> None:
        """Hands the stored events from index ``first`` on to the event broker
        again, as they were stored (bot/resent_messages.py)."""
        if self.event_broker is None:
            return
        for event in itertools.islice(tracker.events, first, None):
            data = {"sender_id": tracker.sender_id, **event.as_dict()}
            self.event_broker.publish(data)
