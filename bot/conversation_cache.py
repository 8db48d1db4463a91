"""The stored events of the most recent conversations, kept in memory by the tracker
store so that a turn does not read its conversation back from the database.

An entry holds exactly what the database would return for the conversation's latest
session: the serialised events, in the order they were stored. It is only right while
this process is the only one writing the conversation, which is what one Rasa server
on its own database is; several Rasa processes sharing a database must not use it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

SESSION_STARTED = "session_started"


@dataclass
class StoredRow:
    """One stored event: its type, its timestamp and its serialised form."""

    type_name: str
    timestamp: float | None
    data: str


@dataclass
class CachedConversation:
    """A conversation's latest session as stored: its rows, and when it started
    (``None`` if it never had a session start)."""

    session_start: float | None
    rows: list[str] = field(default_factory=list)


class ConversationCache:
    """Least recently used conversations, at most ``capacity`` of them."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity!r}")
        self.capacity = capacity
        self._entries: OrderedDict[str, CachedConversation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, sender_id: str) -> CachedConversation | None:
        entry = self._entries.get(sender_id)
        if entry is not None:
            self._entries.move_to_end(sender_id)
        return entry

    def discard(self, sender_id: str) -> None:
        self._entries.pop(sender_id, None)

    def load(self, sender_id: str, rows: Iterable[StoredRow]) -> CachedConversation:
        """Remembers a conversation as just read from the database (its latest
        session)."""
        rows = list(rows)
        starts = [
            row.timestamp
            for row in rows
            if row.type_name == SESSION_STARTED and row.timestamp is not None
        ]
        entry = CachedConversation(
            session_start=max(starts) if starts else None,
            rows=[row.data for row in rows],
        )
        self._entries[sender_id] = entry
        self._entries.move_to_end(sender_id)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return entry

    def append(self, sender_id: str, rows: Iterable[StoredRow]) -> None:
        """Adds rows just stored for a cached conversation. A new session start
        changes which rows make the latest session, so the database is asked again
        next time."""
        entry = self._entries.get(sender_id)
        if entry is None:
            return
        rows = list(rows)
        if any(row.type_name == SESSION_STARTED for row in rows):
            self.discard(sender_id)
            return
        start = entry.session_start
        entry.rows.extend(
            row.data
            for row in rows
            # The database returns the rows stamped at or after the session start.
            if start is None or (row.timestamp is not None and row.timestamp >= start)
        )
