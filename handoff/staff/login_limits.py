"""Rate limits on sign-in: attempts counted per account and per client address.

Each attempt takes its place in both counters before the password is checked,
in one ``INSERT … ON CONFLICT … DO UPDATE … RETURNING``: the database counts
concurrent attempts one by one, across every service instance that shares it,
so at most the limit reach the password check in a window. A successful
sign-in gives its places back, so agents who type their password right are
never locked out by their own sign-ins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.errors import TooManyRequests
from handoff.storage.db import dialect_insert
from handoff.storage.models import LoginAttempts, utcnow

ACCOUNT_LIMIT = 5
# Higher than an account's: several agents of one office may share an address.
ADDRESS_LIMIT = 20
WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Attempt:
    """The counters' windows one attempt was counted in."""

    windows: dict[str, datetime]


class LoginLimits:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def take_attempt(self, username: str, client_address: str) -> Attempt:
        """Count the attempt; refuse it if its account or address is over the limit."""
        now = utcnow()
        async with self._sessions.begin() as session:
            await _forget_expired(session, now)
        limits = {
            f"account:{username}": ACCOUNT_LIMIT,
            f"address:{client_address}": ADDRESS_LIMIT,
        }
        async with self._sessions.begin() as session:
            counted = await _count(session, list(limits), now)
            retry_after = [
                _seconds_left(window_started_at, now)
                for subject, (attempts, window_started_at) in counted.items()
                if attempts > limits[subject]
            ]
            if retry_after:
                # Leaving the transaction rolls the refused attempt back: only
                # attempts that were checked count.
                raise TooManyRequests(
                    "too many sign-in attempts; try again later", max(retry_after)
                )
        return Attempt(
            windows={subject: started for subject, (_, started) in counted.items()}
        )

    async def give_back(self, attempt: Attempt) -> None:
        """A successful sign-in does not count against the limits."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(LoginAttempts)
                .where(
                    or_(
                        *(
                            and_(
                                LoginAttempts.subject == subject,
                                LoginAttempts.window_started_at == started,
                            )
                            for subject, started in attempt.windows.items()
                        )
                    ),
                    LoginAttempts.attempts > 0,
                )
                .values(attempts=LoginAttempts.attempts - 1)
            )


async def _count(
    session: AsyncSession, subjects: list[str], now: datetime
) -> dict[str, tuple[int, datetime]]:
    insert = dialect_insert(session.get_bind().dialect.name, LoginAttempts)
    expired = LoginAttempts.window_started_at <= now - WINDOW
    # Subjects are always locked in the same order (account, then address), so
    # concurrent attempts on PostgreSQL wait for each other but never deadlock.
    statement = (
        insert.values(
            [
                {"subject": subject, "attempts": 1, "window_started_at": now}
                for subject in subjects
            ]
        )
        .on_conflict_do_update(
            index_elements=[LoginAttempts.subject],
            set_={
                "attempts": case((expired, 1), else_=LoginAttempts.attempts + 1),
                "window_started_at": case(
                    (expired, insert.excluded.window_started_at),
                    else_=LoginAttempts.window_started_at,
                ),
            },
        )
        .returning(
            LoginAttempts.subject,
            LoginAttempts.attempts,
            LoginAttempts.window_started_at,
        )
    )
    rows = (await session.execute(statement)).all()
    return {subject: (attempts, started) for subject, attempts, started in rows}


async def _forget_expired(session: AsyncSession, now: datetime) -> None:
    # Counters another attempt holds are skipped rather than waited for: that
    # attempt restarts their window anyway, and waiting could deadlock with it.
    await session.execute(
        delete(LoginAttempts).where(
            LoginAttempts.subject.in_(
                select(LoginAttempts.subject)
                .where(LoginAttempts.window_started_at <= now - WINDOW)
                .with_for_update(skip_locked=True)
            )
        )
    )


def _seconds_left(window_started_at: datetime, now: datetime) -> int:
    # A concurrent attempt that read the clock a moment later may have opened
    # the window, so it can start after this attempt's now: at most one window.
    seconds = math.ceil((window_started_at + WINDOW - now).total_seconds())
    return min(max(1, seconds), int(WINDOW.total_seconds()))
