"""Money, months and dates written the way each language writes them."""

from __future__ import annotations

import datetime as dt

ENGLISH = "en"


def format_won(amount: int, language: str) -> str:
    return f"₩{amount:,}" if language == ENGLISH else f"{amount:,}원"


def format_month(day: dt.date, language: str) -> str:
    if language == ENGLISH:
        return day.strftime("%B %Y")
    return f"{day.year}년 {day.month}월"


def format_date(day: dt.date, language: str) -> str:
    if language == ENGLISH:
        return f"{day.strftime('%B')} {day.day}, {day.year}"
    return f"{day.year}년 {day.month}월 {day.day}일"


def format_payment_status(paid: bool, language: str) -> str:
    if language == ENGLISH:
        return "paid" if paid else "not paid yet"
    return "납부 완료" if paid else "미납"


def format_data(megabytes: int, language: str) -> str:
    """Data volumes the way phone plans state them: ``1.4GB``, ``850MB``."""
    if megabytes >= 1024:
        gigabytes = megabytes / 1024
        text = f"{gigabytes:.1f}".removesuffix(".0")
        return f"{text} GB" if language == ENGLISH else f"{text}GB"
    return f"{megabytes} MB" if language == ENGLISH else f"{megabytes}MB"


def format_time(moment: dt.datetime, language: str) -> str:
    """A date and clock time as written; ``moment`` already on the clock the
    customer should read (``actions.time_zone.local_time``)."""
    if language == ENGLISH:
        return f"{moment.strftime('%B')} {moment.day}, {moment:%H:%M}"
    return f"{moment.month}월 {moment.day}일 {moment:%H:%M}"


def format_clock(moment: dt.datetime, language: str) -> str:
    """A clock time: ``18:35`` in English, ``오후 6시 35분`` in Korean."""
    if language == ENGLISH:
        return f"{moment:%H:%M}"
    period = "오전" if moment.hour < 12 else "오후"
    hour = moment.hour % 12 or 12
    minutes = f" {moment.minute}분" if moment.minute else ""
    return f"{period} {hour}시{minutes}"


def format_day_of_month(day: int, language: str) -> str:
    if language == ENGLISH:
        suffix = (
            "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        )
        return f"the {day}{suffix}"
    return f"매월 {day}일"


def format_signed_won(amount: int, language: str) -> str:
    sign = "+" if amount > 0 else "−" if amount < 0 else ""
    return sign + format_won(abs(amount), language)


def mask_phone_number(phone_number: str) -> str:
    """``010-1234-5678`` → ``010-****-5678``: enough to recognise, not to reuse."""
    first, _, rest = phone_number.partition("-")
    return f"{first}-****-{rest.rpartition('-')[2]}"
