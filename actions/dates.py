"""Dates and days of the month as customers type them, in Korean or English."""

from __future__ import annotations

import datetime as dt
import re

MONTHS_EN = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
RELATIVE_DAYS = {
    "오늘": 0,
    "today": 0,
    "내일": 1,
    "tomorrow": 1,
    "모레": 2,
    "내일모레": 2,
    "글피": 3,
}
_ISO = re.compile(r"(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})")
_KOREAN_MONTH_DAY = re.compile(r"(\d{1,2})\s*월\s*(\d{1,2})\s*일")
_SLASH_MONTH_DAY = re.compile(r"\b(\d{1,2})\s*/\s*(\d{1,2})\b")
_MONTH_THEN_DAY = re.compile(r"\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b")
_DAY_THEN_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\b")
_DAY_OF_MONTH = re.compile(r"(\d{1,2})\s*(?:일|st|nd|rd|th)?")


def _next_occurrence(month: int, day: int, today: dt.date) -> dt.date | None:
    """The month and day in this year, or next year if already past."""
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def parse_date(text: str, today: dt.date) -> dt.date | None:
    """``"2026-12-05"``, ``"12월 5일"``, ``"12/5"``, ``"Dec 5"``, ``"5th of
    December"``, ``"내일"``, ``"tomorrow"`` → a date; ``None`` if there is none."""
    lowered = text.lower().strip()
    for word in sorted(RELATIVE_DAYS, key=len, reverse=True):
        if word in lowered:
            return today + dt.timedelta(days=RELATIVE_DAYS[word])
    if match := _ISO.search(lowered):
        try:
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            return None
    if match := _KOREAN_MONTH_DAY.search(lowered):
        return _next_occurrence(int(match[1]), int(match[2]), today)
    if match := _SLASH_MONTH_DAY.search(lowered):
        return _next_occurrence(int(match[1]), int(match[2]), today)
    for match in _MONTH_THEN_DAY.finditer(lowered):
        if match[1] in MONTHS_EN:
            return _next_occurrence(MONTHS_EN[match[1]], int(match[2]), today)
    for match in _DAY_THEN_MONTH.finditer(lowered):
        if match[2] in MONTHS_EN:
            return _next_occurrence(MONTHS_EN[match[2]], int(match[1]), today)
    return None


def parse_day_of_month(text: str) -> int | None:
    """``"25일"``, ``"the 25th"``, ``"25"`` → 25; ``None`` without a number."""
    match = _DAY_OF_MONTH.search(text)
    return int(match[1]) if match else None
