"""The broker's events on their way to the handoff service, kept on disk in order.

An SQLite file (in ``TANDEM_VAR_DIR``) holds every event the service has not
acknowledged yet, each with a sequence number, so a Rasa restart or a long
outage of the service loses nothing below the bound. Appending is one small
INSERT, committed in WAL mode without a sync to disk: it survives the process,
costs some tens of microseconds, and never waits for the network. Above the
bound the oldest events are deleted and counted; the count goes to the service
with the next batch, which keeps the gap as a dead letter.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL)",
    # One row: events dropped at the bound and not yet reported to the service.
    "CREATE TABLE IF NOT EXISTS dropped ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO dropped (id, count) VALUES (1, 0)",
)
# Rows read to make one batch; the batch's size in bytes decides where it ends.
_ROWS_PER_READ = 1000


@dataclass(frozen=True)
class Batch:
    events: list[dict[str, Any]]
    last_seq: int
    # Events dropped before this batch, reported with it.
    dropped: int


class DurableEventBuffer:
    """Events the service has not acknowledged, oldest first, at most ``capacity``."""

    def __init__(self, path: Path, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the event buffer must hold at least one event")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Rasa publishes from its event loop, but nothing promises one thread.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._capacity = capacity
        self._size = self._count()

    def __len__(self) -> int:
        return self._size

    def append(self, event: dict[str, Any]) -> int:
        """Keeps the event; the number of oldest events dropped to make room."""
        encoded = json.dumps(event, ensure_ascii=False)
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO events (event) VALUES (?)", (encoded,))
            excess = self._size + 1 - self._capacity
            if excess > 0:
                self._db.execute(
                    "DELETE FROM events WHERE seq IN"
                    " (SELECT seq FROM events ORDER BY seq LIMIT ?)",
                    (excess,),
                )
                self._db.execute(
                    "UPDATE dropped SET count = count + ? WHERE id = 1", (excess,)
                )
            self._size += 1 - max(excess, 0)
        return max(excess, 0)

    def next_batch(self, max_bytes: int) -> Batch | None:
        """The oldest events up to ``max_bytes`` (at least one), if any."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event FROM events ORDER BY seq LIMIT ?", (_ROWS_PER_READ,)
            ).fetchall()
            dropped = self._db.execute(
                "SELECT count FROM dropped WHERE id = 1"
            ).fetchone()[0]
        if not rows:
            return None
        events: list[dict[str, Any]] = []
        size = 0
        last_seq = rows[0][0]
        for seq, encoded in rows:
            if events and size + len(encoded) > max_bytes:
                break
            events.append(json.loads(encoded))
            size += len(encoded)
            last_seq = seq
        return Batch(events, last_seq, dropped)

    def acknowledge(self, batch: Batch) -> None:
        """Forgets the batch's events and the gap it reported."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM events WHERE seq <= ?", (batch.last_seq,))
            # More may have been dropped while the batch was on its way.
            self._db.execute(
                "UPDATE dropped SET count = max(count - ?, 0) WHERE id = 1",
                (batch.dropped,),
            )
            self._size = self._count()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM events").fetchone()[0])
