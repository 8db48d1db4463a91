"""What the channels remember across a restart of the Rasa server.

- When each WhatsApp customer last wrote: WhatsApp lets a business send free-form
  messages only within 24 hours of the customer's last message.
- The reply options last sent to each customer: Telegram's buttons are checked against
  them (a client can send any callback data), and an SMS or WhatsApp customer answers
  numbered options with a digit.
- Which agent's reply each platform message carries (Twilio's MessageSid), for a
  few days: a status callback that says it failed names only the platform's id.

With one Rasa server: one small file in ``TANDEM_VAR_DIR`` (``channel_state.db``), in
WAL mode; each write is one short statement, like the event broker's buffer. Several
Rasa servers share it in Redis instead (bot/channels/redis_channel_state.py): the
agent's reply may go out through another server than the one the customer wrote to.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

STATE_FILE = "channel_state.db"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS inbound ("
    " sender_id TEXT PRIMARY KEY, last_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS reply_options ("
    " sender_id TEXT PRIMARY KEY, options TEXT NOT NULL, sent_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sent_replies ("
    " platform_id TEXT PRIMARY KEY, message_id INTEGER NOT NULL,"
    " sent_at REAL NOT NULL)",
)
# Twilio reports a message's fate within hours; Kakao's event result within minutes.
SENT_REPLY_SECONDS = 3 * 24 * 3600


@dataclass(frozen=True)
class ReplyOption:
    title: str
    payload: str


def state_path(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("TANDEM_VAR_DIR") or "var") / STATE_FILE


class ChannelState(Protocol):
    async def record_inbound(self, sender_id: str, at: float) -> None: ...

    async def last_inbound(self, sender_id: str) -> float | None: ...

    async def remember_options(
        self, sender_id: str, options: Sequence[ReplyOption], at: float
    ) -> None: ...

    async def options(
        self, sender_id: str, *, sent_after: float | None = None
    ) -> list[ReplyOption]:
        """The options last sent to ``sender_id``; none when they were sent at or
        before ``sent_after``."""
        ...

    async def forget_options(self, sender_id: str) -> None: ...

    async def remember_reply(
        self, platform_id: str, message_id: int, at: float
    ) -> None:
        """``platform_id`` (the platform's id of a message it took) carries the
        agent's reply ``message_id``, for ``SENT_REPLY_SECONDS``."""
        ...

    async def reply_of(self, platform_id: str, now: float) -> int | None: ...


def encode_options(options: Sequence[ReplyOption]) -> str:
    return json.dumps(
        [[option.title, option.payload] for option in options], ensure_ascii=False
    )


def decode_options(encoded: str) -> list[ReplyOption]:
    return [
        ReplyOption(str(title), str(payload)) for title, payload in json.loads(encoded)
    ]


def open_state_file(path: Path) -> sqlite3.Connection:
    """A connection to the state file, in WAL mode, in autocommit, usable from any
    thread (each user guards it with a lock of its own)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    # Several channels of one Rasa server (and its Sanic workers) open the file.
    connection.execute("PRAGMA busy_timeout=2000")
    return connection


class FileChannelState:
    """The state of one Rasa server, in SQLite. Each call is one short statement on a
    local file, so it runs on the event loop."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_state_file(path)
        for statement in _SCHEMA:
            self._db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    async def record_inbound(self, sender_id: str, at: float) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO inbound (sender_id, last_at) VALUES (?, ?)"
                " ON CONFLICT (sender_id) DO UPDATE SET"
                " last_at = max(last_at, excluded.last_at)",
                (sender_id, at),
            )

    async def last_inbound(self, sender_id: str) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT last_at FROM inbound WHERE sender_id = ?", (sender_id,)
            ).fetchone()
        return None if row is None else float(row[0])

    async def remember_options(
        self, sender_id: str, options: Sequence[ReplyOption], at: float
    ) -> None:
        encoded = encode_options(options)
        with self._lock:
            self._db.execute(
                "INSERT INTO reply_options (sender_id, options, sent_at)"
                " VALUES (?, ?, ?) ON CONFLICT (sender_id) DO UPDATE SET"
                " options = excluded.options, sent_at = excluded.sent_at",
                (sender_id, encoded, at),
            )

    async def options(
        self, sender_id: str, *, sent_after: float | None = None
    ) -> list[ReplyOption]:
        with self._lock:
            row = self._db.execute(
                "SELECT options, sent_at FROM reply_options WHERE sender_id = ?",
                (sender_id,),
            ).fetchone()
        if row is None or (sent_after is not None and row[1] <= sent_after):
            return []
        return decode_options(row[0])

    async def forget_options(self, sender_id: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM reply_options WHERE sender_id = ?", (sender_id,)
            )

    async def remember_reply(
        self, platform_id: str, message_id: int, at: float
    ) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM sent_replies WHERE sent_at < ?", (at - SENT_REPLY_SECONDS,)
            )
            self._db.execute(
                "INSERT OR REPLACE INTO sent_replies (platform_id, message_id, sent_at)"
                " VALUES (?, ?, ?)",
                (platform_id, message_id, at),
            )

    async def reply_of(self, platform_id: str, now: float) -> int | None:
        with self._lock:
            row = self._db.execute(
                "SELECT message_id FROM sent_replies"
                " WHERE platform_id = ? AND sent_at >= ?",
                (platform_id, now - SENT_REPLY_SECONDS),
            ).fetchone()
        return None if row is None else int(row[0])
