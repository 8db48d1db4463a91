"""Account answers: bills, their history and why a bill changed, for a verified
customer only."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.account_requests import ActionAnswerVerifiedRequest
from actions.dependencies import Dependencies
from tests.bot.tracker_fixtures import load_tracker


def asked(intent: str, language: str = "ko", **slots: Any):
    """The verified Korean customer's tracker, with the question ``intent``."""
    tracker = load_tracker("account_question_ko")
    tracker.slots.update({"language": language, **slots})
    tracker.events[3]["parse_data"]["intent"]["name"] = intent
    return tracker


async def answer(
    dependencies: Dependencies, tracker
) -> tuple[list[Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerVerifiedRequest(dependencies).run(
        dispatcher, tracker, {}
    )
    return events, dispatcher.messages


async def test_current_bill_in_korean(dependencies) -> None:
    events, [message] = await answer(dependencies, asked("ask_bill"))
    assert events == []
    assert message["response"] == "utter_current_bill"
    assert {
        key: message[key]
        for key in ("customer_name", "period", "amount", "due_date", "payment_status")
    } == {
        "customer_name": "김민준",
        "period": "2026년 11월",
        "amount": "35,200원",
        "due_date": "2026년 12월 25일",
        "payment_status": "미납",
    }
    assert message["items"] == (
        "· LTE 시니어 월정액: 29,700원\n· 부가서비스 (컬러링): 5,500원"
    )


async def test_current_bill_in_english(dependencies) -> None:
    _, [message] = await answer(dependencies, asked("ask_bill", language="en"))
    assert message["period"] == "November 2026"
    assert message["amount"] == "₩35,200"
    assert message["due_date"] == "December 25, 2026"
    assert message["payment_status"] == "not paid yet"
    assert message["items"].startswith("· LTE Senior monthly fee: ₩29,700")


async def test_bill_history_lists_six_months_newest_first(dependencies) -> None:
    _, [message] = await answer(dependencies, asked("ask_bill_history"))
    assert message["response"] == "utter_bill_history"
    assert message["months"] == 6
    lines = message["bills"].splitlines()
    assert len(lines) == 6
    assert lines[0] == "· 2026년 11월: 35,200원 (미납)"
    assert lines[1] == "· 2026년 10월: 29,700원 (납부 완료)"
    assert lines[-1].startswith("· 2026년 6월:")


async def test_a_higher_bill_names_the_items_that_changed(dependencies) -> None:
    _, [message] = await answer(dependencies, asked("ask_bill_breakdown"))
    assert message["response"] == "utter_bill_higher"
    assert message["difference"] == "5,500원"
    assert message["previous_amount"] == "29,700원"
    assert message["changes"] == "· 부가서비스 (컬러링): +5,500원 (이번 달 새로 청구)"


async def test_bill_change_in_english(dependencies) -> None:
    _, [message] = await answer(
        dependencies, asked("ask_bill_breakdown", language="en")
    )
    assert message["changes"] == (
        "· Add-on service (ringback tone): +₩5,500 (new this month)"
    )


def test_item_changes_cover_gone_and_changed_items() -> None:
    import datetime as dt

    from actions.backend import Bill, BillItem
    from actions.billing import item_changes

    fee = BillItem("plan_fee", "월정액", "Fee", 55_000)
    roaming = BillItem("roaming", "해외 로밍", "Roaming", 16_500)
    day = dt.date(2026, 11, 1)
    previous = Bill(day, 71_500, day, True, (fee, roaming))
    current = Bill(
        day, 75_000, day, False, (BillItem("plan_fee", "월정액", "Fee", 75_000),)
    )
    assert item_changes(current, previous, "ko") == [
        "· 월정액: +20,000원 (55,000원 → 75,000원)",
        "· 해외 로밍: −16,500원 (이번 달 없음)",
    ]


async def test_an_unverified_customer_sees_no_account_data(dependencies) -> None:
    events, messages = await answer(
        dependencies, load_tracker("account_question_unverified_en")
    )
    assert events == []
    assert [m["response"] for m in messages] == ["utter_verification_required"]


async def test_a_failed_verification_hands_off(dependencies) -> None:
    tracker = asked("ask_bill", verified_customer_id=None, verification_failed=True)
    events, messages = await answer(dependencies, tracker)
    assert events == [
        SlotSet("verification_failed", True),
        FollowupAction("action_handoff"),
    ]
    assert [m["response"] for m in messages] == ["utter_verification_failed"]


@pytest.mark.parametrize(
    "intent",
    [
        "ask_bill",
        "ask_bill_history",
        "ask_bill_breakdown",
        "ask_payment_status",
        "ask_my_plan",
        "ask_plan_recommendation",
    ],
)
async def test_back_end_down_apologises(with_backend, broken_backend, intent) -> None:
    dependencies = with_backend(broken_backend)
    events, messages = await answer(dependencies, asked(intent))
    assert events == []
    assert [m["response"] for m in messages] == ["utter_backend_unavailable"]


async def test_without_an_account_question_the_bot_asks_what_is_needed(
    dependencies,
) -> None:
    _, messages = await answer(dependencies, asked("greet"))
    assert [m["response"] for m in messages] == ["utter_how_can_i_help"]


async def test_demo_back_end_has_twenty_customers_with_a_year_of_bills(
    demo_backend,
) -> None:
    from sqlalchemy import func, select

    from actions.backend.demo_schema import BillItemRow, BillRow, CustomerRow

    await demo_backend.find_customer_by_phone("010-1234-5678")
    with demo_backend._session() as session:
        customers = session.execute(select(func.count(CustomerRow.id))).scalar_one()
        bills = session.execute(select(func.count(BillRow.id))).scalar_one()
        items = session.execute(select(func.count(BillItemRow.id))).scalar_one()
    assert (customers, bills) == (20, 240)
    assert items >= bills
