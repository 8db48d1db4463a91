"""Payment status, and moving the automatic payment date (a form with confirmation)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.backend.demo import DemoBackend
from actions.backend.demo_schema import PaymentAccountRow
from actions.dependencies import Dependencies
from actions.payments import ActionChangeAutopayDay, ValidateAutopayDateForm
from tests.bot.test_billing_actions import answer, asked
from tests.bot.tracker_fixtures import message_tracker

RESET = [SlotSet("autopay_day", None), SlotSet("autopay_confirmed", None)]


def verified(customer_id: int = 1, **slots: Any):
    return message_tracker(
        "25일",
        None,
        {"language": "ko", "verified_customer_id": str(customer_id), **slots},
    )


def slot_event(name: str, value: Any, timestamp: float) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value, "timestamp": timestamp}


# The customer said yes to the change, then typed the fresh code it needs.
CONFIRMED_THEN_CODE = [
    slot_event("verified_customer_id", "1", 1000.0),
    slot_event("autopay_confirmed", True, 1060.0),
    slot_event("verified_customer_id", "1", 1090.0),
]
# The customer verified, then said yes: no code since.
CONFIRMED_WITHOUT_CODE = CONFIRMED_THEN_CODE[:2]


async def giro_customer(backend: DemoBackend) -> int:
    await backend.plans()
    with backend._session() as session:
        return int(
            session.execute(
                select(PaymentAccountRow.customer_id).where(
                    PaymentAccountRow.method == "giro"
                )
            )
            .scalars()
            .first()
        )


async def validate_day(dependencies: Dependencies, typed: str, customer_id: int = 1):
    dispatcher = CollectingDispatcher()
    result = await ValidateAutopayDateForm(dependencies).validate_autopay_day(
        typed, dispatcher, verified(customer_id), {}
    )
    return result, [m["response"] for m in dispatcher.messages]


async def change(
    dependencies: Dependencies,
    history: list[dict[str, Any]] = CONFIRMED_THEN_CODE,
    **slots: Any,
):
    dispatcher = CollectingDispatcher()
    tracker = verified(**slots)
    tracker.events = history
    events = await ActionChangeAutopayDay(dependencies).run(dispatcher, tracker, {})
    return events, dispatcher.messages


async def test_payment_status_tells_the_bill_and_the_auto_pay(dependencies) -> None:
    _, [bill, autopay] = await answer(dependencies, asked("ask_payment_status"))
    assert bill["response"] == "utter_bill_unpaid"
    assert (bill["amount"], bill["due_date"]) == ("35,200원", "2026년 12월 25일")
    assert autopay["response"] == "utter_autopay_info"
    assert autopay["method"] == "계좌 자동이체 (국민은행 ****9313)"
    assert autopay["autopay_day"] == "매월 15일"


@pytest.mark.parametrize(
    ("typed", "day"), [("25일", "25"), ("매달 3일로", "3"), ("the 28th", "28")]
)
async def test_a_day_from_1_to_28_is_taken(dependencies, typed: str, day: str) -> None:
    assert await validate_day(dependencies, typed) == ({"autopay_day": day}, [])


@pytest.mark.parametrize("typed", ["31일", "0", "다음 주", "the 29th"])
async def test_other_days_are_refused(dependencies, typed: str) -> None:
    assert await validate_day(dependencies, typed) == (
        {"autopay_day": None},
        ["utter_invalid_autopay_day"],
    )


async def test_a_customer_without_auto_pay_is_told_so(
    dependencies, demo_backend
) -> None:
    customer_id = await giro_customer(demo_backend)
    assert await validate_day(dependencies, "25일", customer_id) == (
        {"autopay_day": None, "autopay_confirmed": False},
        ["utter_no_autopay"],
    )


@pytest.mark.parametrize(
    ("slots", "required"),
    [
        ({}, ["phone_number", "otp_code", "autopay_day", "autopay_confirmed"]),
        ({"verified_customer_id": "1"}, ["autopay_day", "autopay_confirmed"]),
        ({"verified_customer_id": "1", "autopay_confirmed": False}, []),
        ({"verification_failed": True}, []),
    ],
)
async def test_required_slots(
    dependencies: Dependencies, slots: dict[str, Any], required: list[str]
) -> None:
    tracker = message_tracker("x", None, {"language": "ko", **slots})
    assert (
        await ValidateAutopayDateForm(dependencies).required_slots(
            [], CollectingDispatcher(), tracker, {}
        )
        == required
    )


async def test_a_confirmed_change_is_stored(dependencies, demo_backend) -> None:
    events, [message] = await change(
        dependencies, autopay_day="25", autopay_confirmed=True
    )
    assert events == RESET
    assert message["response"] == "utter_autopay_changed"
    assert message["autopay_day"] == "매월 25일"
    account = await demo_backend.payment_account(1)
    assert account is not None and account.autopay_day == 25


async def test_a_change_without_a_fresh_code_changes_nothing(
    dependencies, demo_backend
) -> None:
    events, messages = await change(
        dependencies, CONFIRMED_WITHOUT_CODE, autopay_day="25", autopay_confirmed=True
    )
    assert events == RESET
    assert [m["response"] for m in messages] == ["utter_verification_required"]
    account = await demo_backend.payment_account(1)
    assert account is not None and account.autopay_day == 15


@pytest.mark.parametrize(
    ("history", "required"),
    [
        (CONFIRMED_WITHOUT_CODE, ["autopay_day", "autopay_confirmed", "otp_code"]),
        (CONFIRMED_THEN_CODE, ["autopay_day", "autopay_confirmed"]),
    ],
)
async def test_a_confirmed_change_asks_for_a_fresh_code_even_when_verified(
    dependencies: Dependencies, history: list[dict[str, Any]], required: list[str]
) -> None:
    tracker = verified(autopay_day="25", autopay_confirmed=True)
    tracker.events = history
    assert (
        await ValidateAutopayDateForm(dependencies).required_slots(
            [], CollectingDispatcher(), tracker, {}
        )
        == required
    )


async def test_a_declined_change_changes_nothing(dependencies, demo_backend) -> None:
    events, messages = await change(
        dependencies, autopay_day="25", autopay_confirmed=False
    )
    assert events == RESET
    assert [m["response"] for m in messages] == ["utter_autopay_unchanged"]
    account = await demo_backend.payment_account(1)
    assert account is not None and account.autopay_day == 15


async def test_an_unverified_customer_cannot_change_it(dependencies) -> None:
    dispatcher = CollectingDispatcher()
    tracker = message_tracker(
        "네", None, {"language": "ko", "autopay_day": "25", "autopay_confirmed": True}
    )
    assert (
        await ActionChangeAutopayDay(dependencies).run(dispatcher, tracker, {}) == RESET
    )
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_verification_required"
    ]


async def test_a_failed_verification_hands_off(dependencies) -> None:
    dispatcher = CollectingDispatcher()
    tracker = message_tracker(
        "1", None, {"language": "ko", "verification_failed": True}
    )
    events = await ActionChangeAutopayDay(dependencies).run(dispatcher, tracker, {})
    assert events[-1] == FollowupAction("action_handoff")


async def test_back_end_down_apologises(with_backend, broken_backend) -> None:
    dependencies = with_backend(broken_backend)
    events, messages = await change(
        dependencies, autopay_day="25", autopay_confirmed=True
    )
    assert events == RESET
    assert [m["response"] for m in messages] == ["utter_backend_unavailable"]
    assert await validate_day(dependencies, "25일") == (
        {"autopay_day": None},
        ["utter_backend_unavailable"],
    )
