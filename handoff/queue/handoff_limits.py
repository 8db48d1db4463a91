"""How many handoffs one customer may open in a window (queue flooding).

Handoffs are rows in the database, so every service instance on one database
counts the same ones. Asking again while a handoff is open returns that one and
is never refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handoff.errors import TooManyRequests
from handoff.storage.models import Handoff


@dataclass(frozen=True)
class HandoffLimits:
    per_customer: int = 5
    window: timedelta = timedelta(hours=1)


class HandoffLimitReached(TooManyRequests):
    code = "handoff_limit"


async def refuse_over_limit(
    session: AsyncSession, limits: HandoffLimits, sender_id: str, now: datetime
) -> None:
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(Handoff.created_at)).where(
                Handoff.sender_id == sender_id,
                Handoff.created_at > now - limits.window,
            )
        )
    ).one()
    if count < limits.per_customer or oldest is None:
        return
    retry_after = max(1, math.ceil((oldest + limits.window - now).total_seconds()))
    raise HandoffLimitReached(
        f"this customer opened {count} handoffs in the last "
        f"{_duration(limits.window)}; try again later",
        retry_after,
    )


def _duration(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    if seconds % 60 == 0:
        return f"{seconds // 60} minute(s)"
    return f"{seconds} second(s)"
