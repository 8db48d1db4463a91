"""Rate limits on sign-in: failures counted per username and per client address.

Failures are rows in the database, so every service instance on one database
counts the same attempts.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.errors import TooManyRequests
from handoff.storage.models import LoginFailure

MAX_FAILURES = 5
WINDOW = timedelta(minutes=5)


async def refuse_when_limited(
    session: AsyncSession, username: str, client_address: str, now: datetime
) -> None:
    await session.execute(
        delete(LoginFailure).where(LoginFailure.failed_at <= now - WINDOW)
    )
    for condition in (
        LoginFailure.username == username,
        LoginFailure.client_address == client_address,
    ):
        retry_after = await _retry_after(session, condition, now)
        if retry_after is not None:
            raise TooManyRequests(
                "too many failed sign-ins; try again later", retry_after
            )


async def record_failure(
    session: AsyncSession, username: str, client_address: str, now: datetime
) -> None:
    session.add(
        LoginFailure(username=username, client_address=client_address, failed_at=now)
    )


async def _retry_after(
    session: AsyncSession, condition: ColumnElement[bool], now: datetime
) -> int | None:
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(LoginFailure.failed_at)).where(
                condition, LoginFailure.failed_at > now - WINDOW
            )
        )
    ).one()
    if count < MAX_FAILURES or oldest is None:
        return None
    return max(1, math.ceil((oldest + WINDOW - now).total_seconds()))
