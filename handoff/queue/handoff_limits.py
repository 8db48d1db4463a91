"""How many handoffs one customer, and one client address, may open in a window
(queue flooding).

Handoffs are rows in the database, so every service instance on one database
counts the same ones. A web chat conversation's handoffs also count against the
address its session id was issued to, so fresh ids do not make fresh customers;
other channels' senders have no address and are limited per customer only.
Asking again while a handoff is open returns that one and is never refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.errors import TooManyRequests
from handoff.storage.models import Handoff
from handoff.vocabulary import RefusalKind


@dataclass(frozen=True)
class HandoffLimits:
    per_customer: int = 5
    per_address: int = 20
    window: timedelta = timedelta(hours=1)


class HandoffLimitReached(TooManyRequests):
    code = "handoff_limit"

    def __init__(self, message: str, retry_after: int, kind: RefusalKind) -> None:
        super().__init__(message, retry_after)
        self.kind = kind


async def refuse_over_limit(
    session: AsyncSession,
    limits: HandoffLimits,
    sender_id: str,
    client_address: str | None,
    now: datetime,
) -> None:
    await _refuse_over(
        session,
        Handoff.sender_id == sender_id,
        limits.per_customer,
        limits.window,
        now,
        "this customer",
        RefusalKind.HANDOFFS,
    )
    if client_address is not None:
        await _refuse_over(
            session,
            Handoff.client_address == client_address,
            limits.per_address,
            limits.window,
            now,
            "this address",
            RefusalKind.HANDOFFS_PER_ADDRESS,
        )


async def _refuse_over(
    session: AsyncSession,
    whose: ColumnElement[bool],
    limit: int,
    window: timedelta,
    now: datetime,
    who: str,
    kind: RefusalKind,
) -> None:
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(Handoff.created_at)).where(
                whose, Handoff.created_at > now - window
            )
        )
    ).one()
    if count < limit or oldest is None:
        return
    retry_after = max(1, math.ceil((oldest + window - now).total_seconds()))
    raise HandoffLimitReached(
        f"{who} opened {count} handoffs in the last {_duration(window)}; "
        "try again later",
        retry_after,
        kind,
    )


def _duration(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    if seconds % 60 == 0:
        return f"{seconds // 60} minute(s)"
    return f"{seconds} second(s)"
