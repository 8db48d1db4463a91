"""The business-hours calendar: parsing, time zones, holidays and the wording."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from actions.business_hours import (
    ALWAYS_OPEN_ENV,
    BUSINESS_HOURS_FILE_ENV,
    BusinessHours,
    BusinessHoursError,
    HoursStatus,
    current_status,
    describe_next_open,
    load_business_hours,
    parse_business_hours,
    read_business_hours,
)
from actions.time_zone import TIME_ZONE_ENV

REPOSITORY = Path(__file__).resolve().parents[2]
SEOUL = ZoneInfo("Asia/Seoul")
UTC = dt.timezone.utc

OFFICE_WEEK = """\
weekly:
  monday: ["09:00-18:00"]
  tuesday: ["09:00-18:00"]
  wednesday: ["09:00-18:00"]
  thursday: ["09:00-18:00"]
  friday: ["09:00-18:00"]
  saturday: []
  sunday: []
"""


def calendar(text: str, zone: ZoneInfo = SEOUL) -> BusinessHours:
    return parse_business_hours(textwrap.dedent(text), "test.yml", zone)


def seoul(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SEOUL)


def status_at(
    moment: dt.datetime, text: str = OFFICE_WEEK, zone: ZoneInfo = SEOUL
) -> HoursStatus:
    return current_status(moment, calendar(text, zone))


@pytest.fixture(scope="module")
def shipped() -> BusinessHours:
    return read_business_hours(REPOSITORY / "business_hours.yml")


# The shipped calendar


def test_the_shipped_calendar_has_korea_s_2026_public_holidays(
    shipped: BusinessHours,
) -> None:
    assert shipped.time_zone == SEOUL
    assert not shipped.always_open
    assert len(shipped.holidays) == 20
    for day in (16, 17, 18):
        assert shipped.holidays[dt.date(2026, 2, day)].name_ko == "설날 연휴"
    for day in (24, 25, 26):
        assert shipped.holidays[dt.date(2026, 9, day)].name("en") == "Chuseok"
    assert shipped.holidays[dt.date(2026, 10, 9)].name("ko") == "한글날"
    assert shipped.holidays[dt.date(2026, 12, 25)].name("en") == "Christmas Day"


def test_a_weekday_holiday_is_closed_all_day(shipped: BusinessHours) -> None:
    status = current_status(seoul(2026, 10, 9, 11, 0), shipped)  # Friday, 한글날
    assert not status.open
    assert status.holiday is not None and status.holiday.name_en == "Hangul Day"
    assert status.next_open == seoul(2026, 10, 12, 9, 0)
    assert describe_next_open(status, "ko") == "월요일 오전 9시"
    assert describe_next_open(status, "en") == "Monday at 9:00"


def test_seollal_closes_the_office_until_the_thursday(shipped: BusinessHours) -> None:
    status = current_status(seoul(2026, 2, 13, 18, 0), shipped)  # Friday evening
    assert status.next_open == seoul(2026, 2, 19, 9, 0)
    assert describe_next_open(status, "ko") == "목요일 오전 9시"
    assert describe_next_open(status, "en") == "Thursday at 9:00"


def test_chuseok_and_the_weekend_after_it(shipped: BusinessHours) -> None:
    status = current_status(seoul(2026, 9, 23, 18, 30), shipped)
    assert status.next_open == seoul(2026, 9, 28, 9, 0)


# Opening and closing


def test_a_utc_instant_is_judged_by_the_seoul_clock() -> None:
    # Sunday 23:59 UTC is Monday 08:59 in Seoul; midnight UTC is 09:00 there.
    before = status_at(dt.datetime(2026, 11, 22, 23, 59, tzinfo=UTC))
    assert not before.open
    assert before.next_open == seoul(2026, 11, 23, 9, 0)
    assert before.next_open.tzinfo == SEOUL
    assert before.checked_at == seoul(2026, 11, 23, 8, 59)
    assert describe_next_open(before, "ko") == "오늘 오전 9시"
    assert describe_next_open(before, "en") == "today at 9:00"

    opening = status_at(dt.datetime(2026, 11, 23, 0, 0, tzinfo=UTC))
    assert opening.open
    assert opening.closes_at == seoul(2026, 11, 23, 18, 0)
    assert opening.next_open is None


def test_the_minute_before_closing_is_open_and_closing_time_is_not() -> None:
    last_minute = status_at(seoul(2026, 11, 24, 17, 59))
    assert last_minute.open
    assert last_minute.closes_at == seoul(2026, 11, 24, 18, 0)

    closed = status_at(seoul(2026, 11, 24, 18, 0))
    assert not closed.open
    assert closed.closes_at is None
    assert closed.next_open == seoul(2026, 11, 25, 9, 0)
    assert describe_next_open(closed, "ko") == "내일 오전 9시"
    assert describe_next_open(closed, "en") == "tomorrow at 9:00"


def test_the_weekend_waits_for_monday() -> None:
    status = status_at(seoul(2026, 11, 21, 12, 0))  # Saturday
    assert not status.open
    assert status.next_open == seoul(2026, 11, 23, 9, 0)
    assert describe_next_open(status, "ko") == "월요일 오전 9시"
    assert describe_next_open(status, "en") == "Monday at 9:00"


def test_a_naive_moment_is_taken_in_the_calendar_s_zone() -> None:
    status = status_at(dt.datetime(2026, 11, 23, 9, 0))
    assert status.open
    assert status.checked_at == seoul(2026, 11, 23, 9, 0)


OVERNIGHT = """\
weekly:
  monday: []
  tuesday: []
  wednesday: []
  thursday: []
  friday: ["22:00-02:00"]
  saturday: []
  sunday: ["18:00-24:00"]
holidays:
  - date: 2026-11-23
    name: {ko: 테스트 휴일, en: Test holiday}
"""


def test_an_overnight_range_runs_past_midnight() -> None:
    friday_night = status_at(seoul(2026, 11, 27, 23, 0), OVERNIGHT)
    assert friday_night.open
    assert friday_night.closes_at == seoul(2026, 11, 28, 2, 0)

    after_midnight = status_at(seoul(2026, 11, 28, 1, 59), OVERNIGHT)
    assert after_midnight.open
    assert after_midnight.closes_at == seoul(2026, 11, 28, 2, 0)

    closed = status_at(seoul(2026, 11, 28, 2, 0), OVERNIGHT)
    assert not closed.open
    assert closed.next_open == seoul(2026, 11, 29, 18, 0)
    assert describe_next_open(closed, "ko") == "내일 오후 6시"
    assert describe_next_open(closed, "en") == "tomorrow at 18:00"


def test_a_range_ending_at_24_00_closes_at_midnight() -> None:
    status = status_at(seoul(2026, 11, 29, 23, 30), OVERNIGHT)
    assert status.open
    assert status.closes_at == seoul(2026, 11, 30, 0, 0)


def test_touching_ranges_make_one_opening() -> None:
    text = OFFICE_WEEK.replace('monday: ["09:00-18:00"]', 'monday: ["18:00-24:00"]')
    text = text.replace('tuesday: ["09:00-18:00"]', 'tuesday: ["00:00-06:00"]')
    status = status_at(seoul(2026, 11, 23, 23, 0), text)
    assert status.closes_at == seoul(2026, 11, 24, 6, 0)


def test_a_holiday_closes_the_ranges_that_start_on_it() -> None:
    text = OVERNIGHT.replace('sunday: ["18:00-24:00"]', "sunday: []").replace(
        "2026-11-23", "2026-11-27"
    )
    status = status_at(seoul(2026, 11, 27, 23, 0), text)
    assert not status.open
    assert status.next_open == seoul(2026, 12, 4, 22, 0)
    assert describe_next_open(status, "ko") == "12월 4일(금) 오후 10시"
    assert describe_next_open(status, "en") == "Friday, December 4 at 22:00"


def test_daylight_saving_time_is_followed() -> None:
    # Berlin skips 02:00-03:00 on 29 March 2026: 01:00-04:00 lasts two real hours.
    text = OFFICE_WEEK.replace("sunday: []", 'sunday: ["01:00-04:00"]')
    berlin = ZoneInfo("Europe/Berlin")
    status = status_at(dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC), text, berlin)
    assert status.open
    assert status.checked_at.utcoffset() == dt.timedelta(hours=2)
    assert status.closes_at == dt.datetime(2026, 3, 29, 4, 0, tzinfo=berlin)
    assert status.closes_at - status.checked_at == dt.timedelta(minutes=30)


def test_minutes_and_afternoons_are_worded() -> None:
    text = OFFICE_WEEK.replace('tuesday: ["09:00-18:00"]', 'tuesday: ["13:30-18:00"]')
    status = status_at(seoul(2026, 11, 23, 18, 0), text)
    assert describe_next_open(status, "ko") == "내일 오후 1시 30분"
    assert describe_next_open(status, "en") == "tomorrow at 13:30"


def test_always_open_in_the_file() -> None:
    status = status_at(seoul(2026, 11, 22, 3, 0), "always_open: true\n" + OFFICE_WEEK)
    assert status == HoursStatus(True, None, None, seoul(2026, 11, 22, 3, 0), None)
    assert describe_next_open(status, "en") == "now"
    assert describe_next_open(status, "ko") == "지금"


def test_open_around_the_clock_never_closes() -> None:
    text = "\n".join(
        line if not line.startswith("  ") else line.split(":")[0] + ': ["00:00-24:00"]'
        for line in OFFICE_WEEK.splitlines()
    )
    status = status_at(seoul(2026, 11, 22, 3, 0), text)
    assert status.open
    assert status.closes_at is None


def test_no_opening_hours_at_all_never_opens() -> None:
    text = OFFICE_WEEK.replace('["09:00-18:00"]', "[]")
    status = status_at(seoul(2026, 11, 23, 10, 0), text)
    assert not status.open
    assert status.next_open is None
    assert describe_next_open(status, "ko") == "다음 영업일"
    assert describe_next_open(status, "en") == "on the next business day"


# Where the calendar comes from


def test_the_environment_chooses_the_file_and_forces_always_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hours.yml"
    path.write_text(OFFICE_WEEK, "utf-8")
    monkeypatch.setenv(BUSINESS_HOURS_FILE_ENV, str(path))
    monkeypatch.delenv(ALWAYS_OPEN_ENV, raising=False)
    assert not load_business_hours().always_open
    assert not current_status(seoul(2026, 11, 22, 3, 0)).open

    monkeypatch.setenv(ALWAYS_OPEN_ENV, "true")
    assert load_business_hours().always_open
    assert current_status(seoul(2026, 11, 22, 3, 0)).open

    monkeypatch.setenv(ALWAYS_OPEN_ENV, "sometimes")
    with pytest.raises(BusinessHoursError, match="TANDEM_ALWAYS_OPEN"):
        load_business_hours()


def test_the_time_zone_is_the_one_the_service_reads_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hours.yml"
    path.write_text(OFFICE_WEEK, "utf-8")
    monkeypatch.setenv(BUSINESS_HOURS_FILE_ENV, str(path))
    monkeypatch.delenv(TIME_ZONE_ENV, raising=False)
    assert load_business_hours().time_zone == SEOUL

    monkeypatch.setenv(TIME_ZONE_ENV, "Europe/Berlin")
    hours = load_business_hours()
    assert hours.time_zone == ZoneInfo("Europe/Berlin")
    # 09:00 in Berlin is 17:00 in Seoul.
    assert current_status(seoul(2026, 11, 23, 16, 59), hours).open is False
    assert current_status(seoul(2026, 11, 23, 17, 0), hours).open is True

    monkeypatch.setenv(TIME_ZONE_ENV, "Asia/Seol")
    with pytest.raises(BusinessHoursError, match="TANDEM_TIME_ZONE must be an IANA"):
        load_business_hours()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BusinessHoursError, match=r"nowhere\.yml: cannot be read"):
        read_business_hours(tmp_path / "nowhere.yml")


INVALID = [
    ("", "test.yml: the file is empty"),
    ("weekly: [", "test.yml: not valid YAML"),
    ("- a list", "line 1, : expected a mapping of fields"),
    (OFFICE_WEEK + "holidayz: []\n", "line 9, holidayz: unknown field"),
    (
        "time_zone: Asia/Seoul\n" + OFFICE_WEEK,
        "line 1, time_zone: the time zone is set by TANDEM_TIME_ZONE",
    ),
    ("always_open: true\n", "line 1, weekly: missing"),
    ("always_open: maybe\n" + OFFICE_WEEK, "line 1, always_open: expected true"),
    (
        OFFICE_WEEK.replace("  sunday: []\n", ""),
        "weekly.sunday: missing (write [] for a closed day)",
    ),
    (
        OFFICE_WEEK.replace('monday: ["09:00-18:00"]', 'monday: ["9-18"]'),
        'line 2, weekly.monday[0]: expected "HH:MM-HH:MM"',
    ),
    (
        OFFICE_WEEK.replace('tuesday: ["09:00-18:00"]', 'tuesday: ["09:00-25:00"]'),
        "line 3, weekly.tuesday[0]: expected",
    ),
    (
        OFFICE_WEEK.replace('friday: ["09:00-18:00"]', 'friday: ["09:00-09:00"]'),
        "line 6, weekly.friday[0]: a range must not start and end alike",
    ),
    (
        OFFICE_WEEK.replace('friday: ["09:00-18:00"]', 'friday: ["24:00-02:00"]'),
        "weekly.friday[0]: a range cannot start at 24:00",
    ),
    (
        OFFICE_WEEK.replace('monday: ["09:00-18:00"]', 'monday: ["09:00-12:00", 7]'),
        'line 2, weekly.monday[1]: expected "HH:MM-HH:MM"',
    ),
    (
        OFFICE_WEEK.replace(
            'monday: ["09:00-18:00"]', 'monday: ["09:00-13:00", "12:00-18:00"]'
        ),
        "line 2, weekly.monday: opening ranges of a day overlap",
    ),
    (
        OFFICE_WEEK.replace('monday: ["09:00-18:00"]', 'monday: "09:00-18:00"'),
        "line 2, weekly.monday: expected a list",
    ),
    (
        OFFICE_WEEK + "holidays:\n  - date: 2026-13-01\n    name: {ko: 가, en: A}\n",
        "line 10, holidays[0].date: expected a date like 2026-02-16, got '2026-13-01'",
    ),
    (
        OFFICE_WEEK + "holidays:\n  - date: 2026-05-05\n    name: {ko: 어린이날}\n",
        "line 11, holidays[0].name.en: missing",
    ),
    (
        OFFICE_WEEK + "holidays:\n  - name: {ko: 가, en: A}\n",
        "line 10, holidays[0].date: missing",
    ),
    (
        OFFICE_WEEK
        + "holidays:\n  - date: 2026-05-05\n    until: 2026-05-04\n"
        + "    name: {ko: 가, en: A}\n",
        "line 11, holidays[0].until: is before the date",
    ),
    (
        OFFICE_WEEK
        + "holidays:\n  - date: 2026-05-05\n    name: {ko: 가, en: A}\n"
        + "  - date: 2026-05-04\n    until: 2026-05-06\n    name: {ko: 나, en: B}\n",
        "line 12, holidays[1]: 2026-05-05 is already a holiday",
    ),
    (
        OFFICE_WEEK + "holidays:\n  - date: 2026-05-05\n    name: {ko: '', en: A}\n",
        "line 11, holidays[0].name.ko: expected a single non-empty value",
    ),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_an_invalid_file_names_the_line_and_field(text: str, message: str) -> None:
    with pytest.raises(BusinessHoursError) as raised:
        parse_business_hours(text, "test.yml")
    assert message in str(raised.value)


def test_the_action_server_refuses_to_start_with_an_invalid_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hours.yml"
    path.write_text(OFFICE_WEEK.replace('["09:00-18:00"]', '["9 to 6"]', 1), "utf-8")
    env = {**os.environ, BUSINESS_HOURS_FILE_ENV: str(path)}
    result = subprocess.run(
        [sys.executable, "-c", "import actions.offline_contact"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImportError: Invalid business hours:" in result.stderr
    assert f"{path}, line 2, weekly.monday[0]" in result.stderr
