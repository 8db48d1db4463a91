"""The supervisors' numbers as a service: the live queue and team, and reports."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handoff.analytics.live_status import LiveStatus, live_status
from handoff.analytics.periods import parse_period
from handoff.analytics.report import Report, build_report
from handoff.api.validation import ReportQuery


class Analytics:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        zone: ZoneInfo,
        service_level_seconds: int,
    ) -> None:
        self._sessions = sessions
        self._zone = zone
        self._service_level_seconds = service_level_seconds

    async def live_status(self) -> LiveStatus:
        return await live_status(self._sessions)

    async def report(self, query: ReportQuery) -> Report:
        # Days are the business's local days, so the period needs its zone.
        period = parse_period(query.first_day, query.last_day, query.bucket, self._zone)
        return await build_report(self._sessions, period, self._service_level_seconds)
