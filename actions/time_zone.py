"""The business's time zone, in which the bot says every time to customers.

One setting, ``TANDEM_TIME_ZONE`` (default Asia/Seoul), read here and by the
handoff service (its supervisors' numbers, CSV files and pages), so the agents'
hours, a one-time code's expiry, an outage's start and the dashboard all speak
of the same clock.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TIME_ZONE_ENV = "TANDEM_TIME_ZONE"
DEFAULT_TIME_ZONE = "Asia/Seoul"


class TimeZoneError(ValueError):
    """The configured time zone does not exist."""


def business_time_zone(environ: Mapping[str, str] = os.environ) -> ZoneInfo:
    name = environ.get(TIME_ZONE_ENV) or DEFAULT_TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeZoneError(
            f"{TIME_ZONE_ENV} must be an IANA time zone such as Asia/Seoul, "
            f"not {name!r}"
        ) from None


def local_time(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """``moment`` on the business's clock. The back end answers aware times; a
    naive one would be read as the machine's local time, so it is refused."""
    if moment.tzinfo is None:
        raise ValueError(f"naive time {moment.isoformat()} has no time zone")
    return moment.astimezone(zone)
