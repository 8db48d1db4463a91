"""Plan names, districts, dates and phone numbers as customers type them."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.dates import parse_date, parse_day_of_month
from actions.districts import find_district
from actions.formatting import format_data, format_day_of_month, mask_phone_number
from actions.phone_numbers import find_mobile_number
from actions.plan_names import find_plan_name, find_plan_names

TODAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    ("text", "plan"),
    [
        ("5G 슬림으로", "5G 슬림"),
        ("5g slim", "5G 슬림"),
        ("프리미어 에센셜이랑", "5G 프리미어 에센셜"),
        ("스탠더드", "5G 스탠다드"),
        ("데이터33 요금제", "LTE 데이터 33"),
        ("LTE Senior", "LTE 시니어"),
        ("1기가 인터넷", "기가 인터넷 1G"),
        ("6G 울트라", None),
    ],
)
def test_plan_names(text: str, plan: str | None) -> None:
    assert find_plan_name(text) == plan


def test_several_plans_in_one_message_keep_their_order() -> None:
    assert find_plan_names(["스탠다드랑 5G 슬림 비교"]) == ["5G 스탠다드", "5G 슬림"]
    assert find_plan_names(["slim", "5G Slim", "premier"]) == [
        "5G 슬림",
        "5G 프리미어 에센셜",
    ]


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("강남역 근처", "강남구"),
        ("Gangnam-gu", "강남구"),
        ("중랑구", "중랑구"),
        ("부산 해운대", "해운대구"),
        ("I live in Songdo", "연수구"),
        ("우리 동네", None),
    ],
)
def test_districts(text: str, district: str | None) -> None:
    assert find_district(text) == district


def test_a_month_and_day_already_past_is_next_year() -> None:
    assert parse_date("3월 1일", TODAY) == dt.date(2027, 3, 1)
    assert parse_date("11/30", TODAY) == dt.date(2026, 11, 30)
    assert parse_date("Nov. 25th", TODAY) == dt.date(2026, 11, 25)
    assert parse_date("2월 30일", TODAY) is None


@pytest.mark.parametrize(
    ("text", "day"), [("25일", 25), ("the 3rd", 3), ("10", 10), ("다음 달", None)]
)
def test_day_of_month(text: str, day: int | None) -> None:
    assert parse_day_of_month(text) == day


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("010-1234-5678", "010-1234-5678"),
        ("연락처는 010 9876 5432예요", "010-9876-5432"),
        ("call +82 10 2345 6789 please", "010-2345-6789"),
        ("02-123-4567", None),
    ],
)
def test_mobile_numbers_in_text(text: str, number: str | None) -> None:
    assert find_mobile_number(text) == number


def test_formatting() -> None:
    assert mask_phone_number("010-1234-5678") == "010-****-5678"
    assert format_data(850, "ko") == "850MB"
    assert format_data(1536, "en") == "1.5 GB"
    assert format_data(2048, "ko") == "2GB"
    assert format_day_of_month(1, "en") == "the 1st"
    assert format_day_of_month(12, "en") == "the 12th"
    assert format_day_of_month(22, "en") == "the 22nd"
    assert format_day_of_month(25, "ko") == "매월 25일"
