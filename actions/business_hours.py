"""When agents work: a weekly schedule and holidays in the business's time zone.

The calendar is read from ``business_hours.yml`` (``TANDEM_BUSINESS_HOURS_FILE``
overrides the path; ``TANDEM_ALWAYS_OPEN=true`` or ``always_open: true`` treats every
moment as open); its times are in ``TANDEM_TIME_ZONE`` (``actions/time_zone.py``),
the setting the handoff service reads too. ``current_status`` says whether agents
are there now, when they leave and when they are back; ``describe_next_open`` words
that for the customer.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from actions.formatting import format_clock
from actions.time_zone import (
    DEFAULT_TIME_ZONE,
    TIME_ZONE_ENV,
    TimeZoneError,
    business_time_zone,
)

BUSINESS_HOURS_FILE_ENV = "TANDEM_BUSINESS_HOURS_FILE"
ALWAYS_OPEN_ENV = "TANDEM_ALWAYS_OPEN"
DEFAULT_BUSINESS_HOURS_FILE = "business_hours.yml"
DEFAULT_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)

WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
# How far ahead to look for the next opening or closing: a year covers any schedule
# with at least one opening that is not entirely taken by holidays.
HORIZON_DAYS = 366
LANGUAGES = ("ko", "en")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_TOP_LEVEL_FIELDS = frozenset({"always_open", "weekly", "holidays"})
_HOLIDAY_FIELDS = frozenset({"date", "until", "name"})


class BusinessHoursError(ValueError):
    """The business-hours file cannot be used; the message names the line and field."""


@dataclass(frozen=True)
class OpeningRange:
    """Opening hours starting on a day; an ``end`` not after ``start`` is overnight."""

    start: dt.time
    end: dt.time | None  # None: until midnight ("24:00")

    @property
    def overnight(self) -> bool:
        return self.end is not None and self.end <= self.start


@dataclass(frozen=True)
class Holiday:
    day: dt.date
    name_ko: str
    name_en: str

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_ko


@dataclass(frozen=True)
class BusinessHours:
    time_zone: ZoneInfo
    always_open: bool
    weekly: tuple[tuple[OpeningRange, ...], ...]  # Monday first
    holidays: dict[dt.date, Holiday]

    def openings_on(self, day: dt.date) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The day's opening hours as UTC instants, in order; none on a holiday."""
        if day in self.holidays:
            return
        for opening in self.weekly[day.weekday()]:
            start = dt.datetime.combine(day, opening.start, self.time_zone)
            if opening.end is None:
                end_day, end_time = day + dt.timedelta(days=1), dt.time(0, 0)
            elif opening.overnight:
                end_day, end_time = day + dt.timedelta(days=1), opening.end
            else:
                end_day, end_time = day, opening.end
            end = dt.datetime.combine(end_day, end_time, self.time_zone)
            yield start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


@dataclass(frozen=True)
class HoursStatus:
    """Whether agents are there at ``checked_at``, and when that changes.

    ``closes_at`` is set while open, ``next_open`` while closed; either is None when
    it does not happen within a year (always open, or no opening hours at all). All
    times are aware and in the calendar's time zone.
    """

    open: bool
    closes_at: dt.datetime | None
    next_open: dt.datetime | None
    checked_at: dt.datetime
    holiday: Holiday | None


# Reading the file


def _error(
    source: str, node: yaml.Node, field: str, problem: str
) -> BusinessHoursError:
    line = node.start_mark.line + 1
    return BusinessHoursError(f"{source}, line {line}, {field}: {problem}")


def _mapping(
    node: yaml.Node, source: str, field: str, allowed: frozenset[str]
) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise _error(source, node, field, "expected a mapping of fields")
    fields: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        name = f"{field}.{key}" if field else str(key)
        if key not in allowed:
            expected = ", ".join(sorted(allowed))
            raise _error(source, key_node, name, f"unknown field (expected {expected})")
        if key in fields:
            raise _error(source, key_node, name, "given twice")
        fields[key] = value_node
    return fields


def _scalar(node: yaml.Node, source: str, field: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise _error(source, node, field, "expected a single non-empty value")
    return str(node.value).strip()


def _sequence(node: yaml.Node, source: str, field: str) -> list[yaml.Node]:
    if not isinstance(node, yaml.SequenceNode):
        raise _error(source, node, field, "expected a list")
    return list(node.value)


def _boolean(node: yaml.Node, source: str, field: str) -> bool:
    value = _scalar(node, source, field).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _error(source, node, field, f"expected true or false, got {value!r}")


def _date(node: yaml.Node, source: str, field: str) -> dt.date:
    value = _scalar(node, source, field)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _error(
            source, node, field, f"expected a date like 2026-02-16, got {value!r}"
        ) from None


def _clock(hours: str, minutes: str) -> dt.time | None:
    if hours == "24" and minutes == "00":
        return None
    return dt.time(int(hours), int(minutes))


def _opening_range(node: yaml.Node, source: str, field: str) -> OpeningRange:
    value = _scalar(node, source, field)
    match = _RANGE.match(value.replace(" ", ""))
    problem = f'expected "HH:MM-HH:MM" such as "09:00-18:00", got {value!r}'
    if not match:
        raise _error(source, node, field, problem)
    start_hours, start_minutes, end_hours, end_minutes = match.groups()
    if start_hours == "24":
        raise _error(source, node, field, "a range cannot start at 24:00")
    try:
        start = dt.time(int(start_hours), int(start_minutes))
        end = _clock(end_hours, end_minutes)
    except ValueError:
        raise _error(source, node, field, problem) from None
    if end == start:
        raise _error(source, node, field, "a range must not start and end alike")
    return OpeningRange(start, end)


def _day_minutes(opening: OpeningRange) -> tuple[int, int]:
    start = opening.start.hour * 60 + opening.start.minute
    if opening.end is None:
        return start, 24 * 60
    end = opening.end.hour * 60 + opening.end.minute
    return start, end + 24 * 60 if opening.overnight else end


def _weekly(node: yaml.Node, source: str) -> tuple[tuple[OpeningRange, ...], ...]:
    fields = _mapping(node, source, "weekly", frozenset(WEEKDAYS))
    days: list[tuple[OpeningRange, ...]] = []
    for weekday in WEEKDAYS:
        field = f"weekly.{weekday}"
        if weekday not in fields:
            raise _error(source, node, field, "missing (write [] for a closed day)")
        items = _sequence(fields[weekday], source, field)
        ranges = [
            (_opening_range(item, source, f"{field}[{index}]"), item)
            for index, item in enumerate(items)
        ]
        ranges.sort(key=lambda pair: pair[0].start)
        for (earlier, _), (later, later_node) in itertools.pairwise(ranges):
            if _day_minutes(earlier)[1] > _day_minutes(later)[0]:
                raise _error(
                    source, later_node, field, "opening ranges of a day overlap"
                )
        days.append(tuple(opening for opening, _ in ranges))
    return tuple(days)


def _holidays(node: yaml.Node, source: str) -> dict[dt.date, Holiday]:
    holidays: dict[dt.date, Holiday] = {}
    for index, item in enumerate(_sequence(node, source, "holidays")):
        field = f"holidays[{index}]"
        fields = _mapping(item, source, field, _HOLIDAY_FIELDS)
        for required in ("date", "name"):
            if required not in fields:
                raise _error(source, item, f"{field}.{required}", "missing")
        first = _date(fields["date"], source, f"{field}.date")
        last = first
        if "until" in fields:
            last = _date(fields["until"], source, f"{field}.until")
            if last < first:
                raise _error(
                    source, fields["until"], f"{field}.until", "is before the date"
                )
        names = _mapping(fields["name"], source, f"{field}.name", frozenset(LANGUAGES))
        for language in LANGUAGES:
            if language not in names:
                raise _error(
                    source, fields["name"], f"{field}.name.{language}", "missing"
                )
        name_ko = _scalar(names["ko"], source, f"{field}.name.ko")
        name_en = _scalar(names["en"], source, f"{field}.name.en")
        day = first
        while day <= last:
            if day in holidays:
                raise _error(source, item, field, f"{day} is already a holiday")
            holidays[day] = Holiday(day, name_ko, name_en)
            day += dt.timedelta(days=1)
    return holidays


def parse_business_hours(
    text: str,
    source: str = DEFAULT_BUSINESS_HOURS_FILE,
    time_zone: ZoneInfo = DEFAULT_ZONE,
) -> BusinessHours:
    """The calendar in ``text``, its times in ``time_zone``; ``source`` names the
    file in error messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise BusinessHoursError(f"{source}: not valid YAML: {error}") from None
    if root is None:
        raise BusinessHoursError(f"{source}: the file is empty")
    if isinstance(root, yaml.MappingNode):
        for key, _ in root.value:
            if key.value == "time_zone":
                # One clock for the bot and the service, set in one place.
                raise _error(
                    source,
                    key,
                    "time_zone",
                    f"the time zone is set by {TIME_ZONE_ENV}, which the handoff "
                    "service reads too; remove it from this file",
                )
    fields = _mapping(root, source, "", _TOP_LEVEL_FIELDS)
    if "weekly" not in fields:
        raise _error(source, root, "weekly", "missing")
    always_open = (
        _boolean(fields["always_open"], source, "always_open")
        if "always_open" in fields
        else False
    )
    holidays = _holidays(fields["holidays"], source) if "holidays" in fields else {}
    return BusinessHours(
        time_zone, always_open, _weekly(fields["weekly"], source), holidays
    )


def read_business_hours(
    path: Path, time_zone: ZoneInfo = DEFAULT_ZONE
) -> BusinessHours:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BusinessHoursError(f"{path}: cannot be read: {error}") from None
    return parse_business_hours(text, str(path), time_zone)


def always_open_from_environment(value: str | None) -> bool:
    if value is None or not value.strip():
        return False
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise BusinessHoursError(
        f"{ALWAYS_OPEN_ENV}: expected true or false, got {value!r}"
    )


@lru_cache(maxsize=4)
def _configured(
    path: str, always_open_setting: str | None, time_zone_setting: str | None
) -> BusinessHours:
    try:
        time_zone = business_time_zone({TIME_ZONE_ENV: time_zone_setting or ""})
    except TimeZoneError as error:
        raise BusinessHoursError(str(error)) from None
    hours = read_business_hours(Path(path), time_zone)
    if always_open_from_environment(always_open_setting):
        return BusinessHours(hours.time_zone, True, hours.weekly, hours.holidays)
    return hours


def load_business_hours() -> BusinessHours:
    """The calendar the environment points at, read once per path and setting."""
    return _configured(
        os.environ.get(BUSINESS_HOURS_FILE_ENV) or DEFAULT_BUSINESS_HOURS_FILE,
        os.environ.get(ALWAYS_OPEN_ENV),
        os.environ.get(TIME_ZONE_ENV),
    )


# The calendar at a moment


@dataclass(frozen=True)
class _Span:
    start: dt.datetime
    end: dt.datetime
    bounded: bool  # False: still open at the end of the horizon


def _spans(hours: BusinessHours, first_day: dt.date) -> Iterator[_Span]:
    """Opening hours from ``first_day`` on, with touching or overlapping ones merged."""
    current: tuple[dt.datetime, dt.datetime] | None = None
    for offset in range(HORIZON_DAYS + 1):
        for start, end in hours.openings_on(first_day + dt.timedelta(days=offset)):
            if current is not None and start <= current[1]:
                current = (current[0], max(current[1], end))
                continue
            if current is not None:
                yield _Span(current[0], current[1], bounded=True)
            current = (start, end)
    if current is not None:
        yield _Span(current[0], current[1], bounded=False)


def current_status(
    now: dt.datetime | None = None, hours: BusinessHours | None = None
) -> HoursStatus:
    """Whether agents work at ``now`` (default: this moment) by ``hours``.

    Without ``hours``, the calendar of ``load_business_hours``. A naive ``now`` is
    taken to be in the calendar's time zone.
    """
    calendar = hours if hours is not None else load_business_hours()
    zone = calendar.time_zone
    if now is None:
        local_now = dt.datetime.now(zone)
    elif now.tzinfo is None:
        local_now = now.replace(tzinfo=zone)
    else:
        local_now = now.astimezone(zone)
    holiday = calendar.holidays.get(local_now.date())
    if calendar.always_open:
        return HoursStatus(True, None, None, local_now, holiday)
    instant = local_now.astimezone(dt.timezone.utc)
    # Yesterday's overnight opening may still be running.
    for span in _spans(calendar, local_now.date() - dt.timedelta(days=1)):
        if span.end <= instant:
            continue
        if span.start <= instant:
            closes_at = span.end.astimezone(zone) if span.bounded else None
            return HoursStatus(True, closes_at, None, local_now, holiday)
        return HoursStatus(False, None, span.start.astimezone(zone), local_now, holiday)
    return HoursStatus(False, None, None, local_now, holiday)


# Saying it to the customer

_KOREAN_WEEKDAYS = ("월", "화", "수", "목", "금", "토", "일")
_ENGLISH_WEEKDAYS = tuple(weekday.capitalize() for weekday in WEEKDAYS)
_ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_KOREAN_RELATIVE_DAYS = {0: "오늘", 1: "내일"}
_ENGLISH_RELATIVE_DAYS = {0: "today", 1: "tomorrow"}


def describe_next_open(status: HoursStatus, language: str) -> str:
    """When agents are back, for the customer: "내일 오전 9시", "Monday at 9:00"."""
    english = language == "en"
    if status.open:
        return "now" if english else "지금"
    if status.next_open is None:
        return "on the next business day" if english else "다음 영업일"
    moment = status.next_open
    days_ahead = (moment.date() - status.checked_at.date()).days
    if english:
        clock = f"{moment.hour}:{moment.minute:02d}"
        if days_ahead in _ENGLISH_RELATIVE_DAYS:
            return f"{_ENGLISH_RELATIVE_DAYS[days_ahead]} at {clock}"
        weekday = _ENGLISH_WEEKDAYS[moment.weekday()]
        if days_ahead < 7:
            return f"{weekday} at {clock}"
        month = _ENGLISH_MONTHS[moment.month - 1]
        return f"{weekday}, {month} {moment.day} at {clock}"
    clock = format_clock(moment, "ko")
    if days_ahead in _KOREAN_RELATIVE_DAYS:
        return f"{_KOREAN_RELATIVE_DAYS[days_ahead]} {clock}"
    weekday = _KOREAN_WEEKDAYS[moment.weekday()]
    if days_ahead < 7:
        return f"{weekday}요일 {clock}"
    return f"{moment.month}월 {moment.day}일({weekday}) {clock}"
