"""Sign-up: each answer validated, the summary, the order, corrections."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.dependencies import Dependencies
from actions.signup import (
    SIGNUP_SLOTS,
    ActionAskSignupConfirmed,
    ActionResetSignupField,
    ActionSubmitSignup,
    ValidateSignupForm,
)
from tests.bot.tracker_fixtures import load_tracker, message_tracker


async def validate(
    dependencies: Dependencies, slot: str, typed: Any
) -> tuple[dict[str, Any], list[str]]:
    dispatcher = CollectingDispatcher()
    method = getattr(ValidateSignupForm(dependencies), f"validate_{slot}")
    tracker = message_tracker(str(typed), None, {"language": "ko"}, intent="inform")
    result = await method(typed, dispatcher, tracker, {})
    return result, [m["response"] for m in dispatcher.messages]


@pytest.mark.parametrize(
    ("typed", "plan"),
    [
        ("5G 슬림으로 할게요", "5G 슬림"),
        ("the 5G Standard plan", "5G 스탠다드"),
        ("기가 인터넷 500M이요", "기가 인터넷 500M"),
        ("Giga Internet 1G please", "기가 인터넷 1G"),
    ],
)
async def test_plan_is_read_in_either_language(
    dependencies, typed: str, plan: str
) -> None:
    assert await validate(dependencies, "signup_plan", typed) == (
        {"signup_plan": plan},
        [],
    )


async def test_unknown_plan_is_refused_with_the_choices(dependencies) -> None:
    assert await validate(dependencies, "signup_plan", "6G 울트라") == (
        {"signup_plan": None},
        ["utter_unknown_plan_choice"],
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("김철수", "김철수"), ("  Sarah   Lee ", "Sarah Lee"), ("O'Brien", "O'Brien")],
)
async def test_names(dependencies: Dependencies, typed: str, expected: str) -> None:
    assert await validate(dependencies, "signup_name", typed) == (
        {"signup_name": expected},
        [],
    )


@pytest.mark.parametrize("typed", ["12345", "", "김철수 010-1234-5678", "x" * 60])
async def test_bad_names_are_refused(dependencies: Dependencies, typed: str) -> None:
    assert await validate(dependencies, "signup_name", typed) == (
        {"signup_name": None},
        ["utter_invalid_name"],
    )


async def test_contact_number_is_normalised_or_refused(
    dependencies: Dependencies,
) -> None:
    assert await validate(dependencies, "signup_contact", "연락처는 010 9876 5432") == (
        {"signup_contact": "010-9876-5432"},
        [],
    )
    assert await validate(dependencies, "signup_contact", "02-123-4567") == (
        {"signup_contact": None},
        ["utter_invalid_phone_number"],
    )


@pytest.mark.parametrize(
    "typed",
    [
        "서울시 강남구 테헤란로 123",
        "부산 해운대구 센텀중앙로 79 101동 202호",
        "경기도 성남시 분당구 판교역로 235",
        "123 Teheran-ro, Gangnam-gu, Seoul",
        "45 Sejong-daero, Jung-gu, Seoul",
    ],
)
async def test_addresses_in_korean_and_english(
    dependencies: Dependencies, typed: str
) -> None:
    assert await validate(dependencies, "signup_address", typed) == (
        {"signup_address": typed},
        [],
    )


@pytest.mark.parametrize(
    "typed", ["우리집", "강남구", "테헤란로", "Seoul", "123", "near the station 5"]
)
async def test_what_cannot_be_an_address_is_refused(
    dependencies: Dependencies, typed: str
) -> None:
    assert await validate(dependencies, "signup_address", typed) == (
        {"signup_address": None},
        ["utter_invalid_address"],
    )


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("12월 5일", "2026-12-05"),
        ("2026-12-05", "2026-12-05"),
        ("December 5", "2026-12-05"),
        ("the 10th of December", "2026-12-10"),
        ("내일이요", "2026-11-23"),
        ("tomorrow please", "2026-11-23"),
        ("1월 3일", "2027-01-03"),
    ],
)
async def test_future_dates_are_taken(
    dependencies: Dependencies, typed: str, day: str
) -> None:
    assert await validate(dependencies, "signup_install_date", typed) == (
        {"signup_install_date": day},
        [],
    )


@pytest.mark.parametrize(
    ("typed", "response"),
    [
        ("오늘", "utter_date_not_in_future"),
        ("2026-11-01", "utter_date_not_in_future"),
        ("2027-03-01", "utter_date_too_far"),
        ("언젠가", "utter_invalid_date"),
        ("2026-02-30", "utter_invalid_date"),
    ],
)
async def test_other_dates_are_refused(
    dependencies: Dependencies, typed: str, response: str
) -> None:
    assert await validate(dependencies, "signup_install_date", typed) == (
        {"signup_install_date": None},
        [response],
    )


async def test_no_at_the_summary_asks_what_to_change(
    dependencies: Dependencies,
) -> None:
    assert await validate(dependencies, "signup_confirmed", True) == (
        {"signup_confirmed": True},
        [],
    )
    assert await validate(dependencies, "signup_confirmed", False) == (
        {"signup_confirmed": None},
        ["utter_signup_what_to_change"],
    )


async def test_summary_writes_the_plan_and_date_the_customer_way(dependencies) -> None:
    dispatcher = CollectingDispatcher()
    tracker = load_tracker("signup_confirmed_en")
    tracker.slots["signup_confirmed"] = None
    tracker.latest_message["intent"]["name"] = "inform"
    assert (
        await ActionAskSignupConfirmed(dependencies).run(dispatcher, tracker, {}) == []
    )
    [message] = dispatcher.messages
    assert message["response"] == "utter_ask_signup_confirmed"
    assert message["install_date"] == "December 5, 2026"
    assert message["plan"] == "Giga Internet 1G"


async def test_confirmed_order_is_stored_with_a_number(
    dependencies, demo_backend
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitSignup(dependencies).run(
        dispatcher, load_tracker("signup_confirmed_en"), {}
    )
    assert events == [SlotSet(slot, None) for slot in SIGNUP_SLOTS]
    [message] = dispatcher.messages
    assert message["response"] == "utter_signup_done"
    assert message["order_number"] == "TD-20261122-0001"
    assert message["install_date"] == "December 5, 2026"

    from actions.backend.demo_schema import OrderRow

    with demo_backend._session() as session:
        [order] = session.query(OrderRow).all()
    assert (order.plan_name, order.name, order.contact_phone) == (
        "기가 인터넷 1G",
        "Sarah Lee",
        "010-2345-6789",
    )
    assert order.install_date == dt.date(2026, 12, 5)
    assert order.language == "en"


async def test_order_with_the_back_end_down_apologises(
    with_backend, broken_backend
) -> None:
    dependencies = with_backend(broken_backend)
    dispatcher = CollectingDispatcher()
    await ActionSubmitSignup(dependencies).run(
        dispatcher, load_tracker("signup_confirmed_en"), {}
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_backend_unavailable"]


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("주소 바꿀래요", "signup_address"),
        ("성함 수정해 주세요", "signup_name"),
        ("설치 날짜 수정", "signup_install_date"),
        ("wrong phone number, let me fix it", "signup_contact"),
        ("change the plan", "signup_plan"),
    ],
)
async def test_a_correction_clears_the_named_answer(text: str, slot: str) -> None:
    tracker = message_tracker(text, None, {}, intent="change_signup_field")
    events = await ActionResetSignupField().run(CollectingDispatcher(), tracker, {})
    assert events == [
        SlotSet(slot, None),
        SlotSet("signup_confirmed", None),
        SlotSet("requested_slot", slot),
    ]


async def test_a_correction_without_a_field_asks_which() -> None:
    dispatcher = CollectingDispatcher()
    tracker = message_tracker("고칠래요", None, {}, intent="change_signup_field")
    events = await ActionResetSignupField().run(dispatcher, tracker, {})
    assert events == [SlotSet("signup_confirmed", None)]
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_signup_what_to_change"
    ]
