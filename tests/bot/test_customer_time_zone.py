"""Times told to customers are on the business's clock (TANDEM_TIME_ZONE), whatever
the zone of the machine, the back end's storage or the clock the actions are given."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.backend import OrderRequest
from actions.backend.demo import DemoBackend
from actions.business_hours import read_business_hours
from actions.dependencies import Dependencies, build_dependencies
from actions.outages import ActionCheckOutage
from actions.settings import ActionSettings
from actions.time_zone import TIME_ZONE_ENV
from actions.verification import ActionAskOtpCode
from tests.bot.conftest import SEED_DAY, Clock, outbox_lines
from tests.bot.tracker_fixtures import message_tracker

PHONE = "010-1234-5678"
UTC = dt.timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
# Noon in Seoul, as a UTC clock gives it.
NOON_IN_SEOUL_AS_UTC = dt.datetime.combine(SEED_DAY, dt.time(3, 0), UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOON_IN_SEOUL_AS_UTC)


async def ask_code(dependencies: Dependencies, language: str) -> dict[str, object]:
    dispatcher = CollectingDispatcher()
    tracker = message_tracker(
        PHONE, language, {"language": language, "phone_number": PHONE}
    )
    await ActionAskOtpCode(dependencies).run(dispatcher, tracker, {})
    [sent] = dispatcher.messages
    return sent


async def outage_times(dependencies: Dependencies, language: str) -> tuple[str, str]:
    dispatcher = CollectingDispatcher()
    tracker = message_tracker(
        "x", language, {"language": language, "district": "강남구"}
    )
    await ActionCheckOutage(dependencies).run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    return message["since"], message["expected_end"]


async def test_the_code_s_expiry_is_told_on_the_seoul_clock(
    dependencies: Dependencies, outbox_path: Path
) -> None:
    korean = await ask_code(dependencies, "ko")
    assert korean["response"] == "utter_otp_sent"
    assert (korean["minutes"], korean["valid_until"]) == (5, "오후 12시 5분")

    [line] = outbox_lines(outbox_path)
    sent_at, _, text = line.split("\t")
    assert "(12:05까지 유효)" in text
    assert "valid until 12:05" in text
    assert sent_at == "2026-11-22T03:00:00+00:00"


async def test_the_code_s_expiry_in_english(dependencies: Dependencies) -> None:
    assert (await ask_code(dependencies, "en"))["valid_until"] == "12:05"


async def test_a_number_that_is_no_customer_s_is_told_the_same_time(
    dependencies: Dependencies,
) -> None:
    dispatcher = CollectingDispatcher()
    stranger = "010-9999-0000"
    tracker = message_tracker(
        stranger, "ko", {"language": "ko", "phone_number": stranger}
    )
    await ActionAskOtpCode(dependencies).run(dispatcher, tracker, {})
    [sent] = dispatcher.messages
    assert sent["valid_until"] == "오후 12시 5분"


async def test_outage_times_are_on_the_seoul_clock(dependencies: Dependencies) -> None:
    # Started an hour ago, expected to end in three: 11:00 and 15:00 in Seoul.
    assert await outage_times(dependencies, "ko") == (
        "11월 22일 11:00",
        "11월 22일 15:00",
    )
    assert await outage_times(dependencies, "en") == (
        "November 22, 11:00",
        "November 22, 15:00",
    )


async def test_another_business_time_zone_moves_every_time_told(
    dependencies: Dependencies,
) -> None:
    in_berlin = replace(
        dependencies,
        business_hours=read_business_hours(Path("business_hours.yml"), BERLIN),
    )

    # 03:00 UTC is 04:00 in Berlin in November.
    assert await outage_times(in_berlin, "en") == (
        "November 22, 03:00",
        "November 22, 07:00",
    )
    assert (await ask_code(in_berlin, "en"))["valid_until"] == "04:05"


async def test_the_back_end_refuses_a_clock_without_a_time_zone(tmp_path: Path) -> None:
    backend = DemoBackend(
        tmp_path / "demo.db", clock=lambda: dt.datetime(2026, 11, 22, 12, 0)
    )
    with pytest.raises(ValueError, match="aware times"):
        await backend.plans()


async def test_an_order_is_dated_by_the_business_day(
    tmp_path: Path, clock: Clock
) -> None:
    # 20:00 UTC on the 22nd is already 05:00 on the 23rd in Seoul.
    clock.now = dt.datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    backend = DemoBackend(tmp_path / "demo.db", clock=clock)
    plan = (await backend.plans())[0]

    order = await backend.create_order(
        OrderRequest(
            plan_name=plan.name,
            name="김민준",
            contact_phone=PHONE,
            address="서울시 강남구 테헤란로 1",
            install_date=dt.date(2026, 11, 30),
            language="ko",
        )
    )

    assert order.order_number == "TD-20261123-0001"


def test_the_action_server_takes_the_zone_from_the_shared_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TIME_ZONE_ENV, "Europe/Berlin")
    settings = ActionSettings(
        handoff_url="http://127.0.0.1:9",
        service_secret="",
        handoff_timeout_seconds=1,
        demo_backend_path=tmp_path / "demo.db",
        dev_outbox_path=tmp_path / "outbox.log",
    )

    assert build_dependencies(settings).time_zone == BERLIN
