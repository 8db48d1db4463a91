"""The log of one-time-code requests, kept to limit them.

Every phone number a conversation asks a code for is logged, whether or not it
belongs to a customer, so that the limits and the answers are the same for both
and the chat cannot tell which numbers are ours. The log lives in an SQLite file
(the demo back end's, by default), so the limits hold across restarts of the
action server and across its processes.

A number that is no customer's gets no code, but its wrong attempts are counted
here exactly as the back end counts a customer's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine

from actions.backend.demo import run_query

metadata = MetaData()
code_requests = Table(
    "code_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("phone_number", String(20), nullable=False, index=True),
    Column("requested_at", DateTime, nullable=False, index=True),
    Column("wrong_attempts", Integer, nullable=False, default=0),
)


@dataclass(frozen=True)
class VerificationLimits:
    """How much one conversation, and one phone number, may ask for in a window."""

    codes_per_number: int = 5
    codes_per_conversation: int = 5
    numbers_per_conversation: int = 3
    window: dt.timedelta = dt.timedelta(hours=1)


@dataclass(frozen=True)
class CodeRequest:
    id: int
    requested_at: dt.datetime
    wrong_attempts: int


# The kinds of refusal, as the handoff service counts them.
CODES_REFUSED = "verification_codes"
NUMBERS_REFUSED = "phone_numbers"


def stored_moment(moment: dt.datetime) -> dt.datetime:
    """SQLite keeps no time zone: an aware moment is stored in UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _wait_for_locks(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    try:
        # Several action server processes may write at once.
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


class CodeRequestLog:
    def __init__(self, database_path: Path) -> None:
        self._database_path = database_path
        self._engine: Engine | None = None

    async def refusal(
        self,
        limits: VerificationLimits,
        sender_id: str,
        phone_number: str,
        now: dt.datetime,
    ) -> str | None:
        """The kind of refusal a new code to ``phone_number`` would meet, if any."""
        since = stored_moment(now) - limits.window
        return await run_query(self._refusal, limits, sender_id, phone_number, since)

    async def log(self, sender_id: str, phone_number: str, now: dt.datetime) -> None:
        await run_query(self._log, sender_id, phone_number, stored_moment(now))

    async def latest(self, sender_id: str, phone_number: str) -> CodeRequest | None:
        return await run_query(self._latest, sender_id, phone_number)

    async def count_wrong_attempt(self, request_id: int) -> None:
        await run_query(self._count_wrong_attempt, request_id)

    def _connect(self) -> Connection:
        if self._engine is None:
            self._database_path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                f"sqlite:///{self._database_path}",
                connect_args={"check_same_thread": False},
            )
            event.listen(engine, "connect", _wait_for_locks)
            metadata.create_all(engine)
            self._engine = engine
        return self._engine.connect()

    def _refusal(
        self,
        limits: VerificationLimits,
        sender_id: str,
        phone_number: str,
        since: dt.datetime,
    ) -> str | None:
        recent = code_requests.c.requested_at > since
        with self._connect() as connection:
            numbers = set(
                connection.scalars(
                    select(code_requests.c.phone_number)
                    .where(recent, code_requests.c.sender_id == sender_id)
                    .distinct()
                )
            )
            for_number = connection.scalar(
                select(func.count())
                .select_from(code_requests)
                .where(recent, code_requests.c.phone_number == phone_number)
            )
            for_conversation = connection.scalar(
                select(func.count())
                .select_from(code_requests)
                .where(recent, code_requests.c.sender_id == sender_id)
            )
        if phone_number not in numbers and len(numbers) >= (
            limits.numbers_per_conversation
        ):
            return NUMBERS_REFUSED
        if (for_number or 0) >= limits.codes_per_number or (
            for_conversation or 0
        ) >= limits.codes_per_conversation:
            return CODES_REFUSED
        return None

    def _log(self, sender_id: str, phone_number: str, now: dt.datetime) -> None:
        with self._connect() as connection, connection.begin():
            connection.execute(
                insert(code_requests).values(
                    sender_id=sender_id,
                    phone_number=phone_number,
                    requested_at=now,
                    wrong_attempts=0,
                )
            )

    def _latest(self, sender_id: str, phone_number: str) -> CodeRequest | None:
        with self._connect() as connection:
            row = connection.execute(
                select(
                    code_requests.c.id,
                    code_requests.c.requested_at,
                    code_requests.c.wrong_attempts,
                )
                .where(
                    code_requests.c.sender_id == sender_id,
                    code_requests.c.phone_number == phone_number,
                )
                .order_by(code_requests.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return CodeRequest(row.id, row.requested_at, row.wrong_attempts)

    def _count_wrong_attempt(self, request_id: int) -> None:
        with self._connect() as connection, connection.begin():
            connection.execute(
                update(code_requests)
                .where(code_requests.c.id == request_id)
                .values(wrong_attempts=code_requests.c.wrong_attempts + 1)
            )
