"""The period a report covers, and the day or hour buckets it is grouped by.

Days and hours are those of the service's time zone (Asia/Seoul by default):
a supervisor's "Monday" starts at midnight where the call centre is, not in UTC.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from handoff.errors import InvalidRequest

# Long enough for a year of days or a month of hours, short enough that one
# report never reads an unbounded number of rows.
MAX_DAYS = {"day": 366, "hour": 31}


class Bucket(str, enum.Enum):
    DAY = "day"
    HOUR = "hour"


@dataclass(frozen=True)
class ReportPeriod:
    first_day: date
    last_day: date
    bucket: Bucket
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), self.zone)

    @property
    def end(self) -> datetime:
        """The exclusive end: midnight after the last day."""
        return datetime.combine(self.last_day + timedelta(days=1), time(0), self.zone)

    def bucket_of(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.zone)
        if self.bucket is Bucket.DAY:
            return datetime.combine(local.date(), time(0), self.zone)
        return local.replace(minute=0, second=0, microsecond=0)

    def buckets(self) -> Iterator[datetime]:
        """Every bucket's start, in order, empty ones included."""
        if self.bucket is Bucket.DAY:
            day = self.first_day
            while day <= self.last_day:
                yield datetime.combine(day, time(0), self.zone)
                day += timedelta(days=1)
            return
        # Step in UTC so a daylight-saving change neither skips nor repeats an hour.
        moment = self.start.astimezone(timezone.utc)
        end = self.end.astimezone(timezone.utc)
        seen: set[datetime] = set()
        while moment < end:
            bucket = self.bucket_of(moment)
            if bucket not in seen:
                seen.add(bucket)
                yield bucket
            moment += timedelta(hours=1)


def today(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(timezone.utc)).astimezone(zone).date()


def parse_period(
    raw_from: str | None,
    raw_to: str | None,
    raw_bucket: str | None,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> ReportPeriod:
    """``from`` and ``to`` are local dates, both included; both default to today."""
    try:
        bucket = Bucket(raw_bucket or Bucket.DAY.value)
    except ValueError:
        raise InvalidRequest("bucket must be day or hour") from None
    current = today(zone, now)
    last_day = _date(raw_to, "to") if raw_to else current
    first_day = _date(raw_from, "from") if raw_from else min(current, last_day)
    if first_day > last_day:
        raise InvalidRequest("from must not be after to")
    days = (last_day - first_day).days + 1
    if days > MAX_DAYS[bucket.value]:
        raise InvalidRequest(
            f"a report by {bucket.value} covers at most "
            f"{MAX_DAYS[bucket.value]} days, not {days}"
        )
    return ReportPeriod(first_day, last_day, bucket, zone)


def _date(raw: str, name: str) -> date:
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date as YYYY-MM-DD") from None
