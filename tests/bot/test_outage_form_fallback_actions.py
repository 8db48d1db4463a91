"""Outages by district, cancelling any form halfway, and asking to rephrase."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.dependencies import Dependencies
from actions.forms import ActionCancelForm
from actions.outages import ActionCheckOutage, ValidateOutageForm
from actions.signup import SIGNUP_SLOTS
from tests.bot.tracker_fixtures import message_tracker


async def check(
    dependencies: Dependencies, district: str, language: str = "ko"
) -> list[dict]:
    dispatcher = CollectingDispatcher()
    tracker = message_tracker(
        "x", language, {"language": language, "district": district}
    )
    assert await ActionCheckOutage(dependencies).run(dispatcher, tracker, {}) == []
    return dispatcher.messages


@pytest.mark.parametrize(
    ("typed", "district"),
    [("강남역 근처요", "강남구"), ("Mapo-gu", "마포구"), ("haeundae", "해운대구")],
)
async def test_districts_are_recognised(typed: str, district: str) -> None:
    dispatcher = CollectingDispatcher()
    result = await ValidateOutageForm().validate_district(
        typed, dispatcher, message_tracker(typed, None, {}), {}
    )
    assert (result, dispatcher.messages) == ({"district": district}, [])


async def test_unknown_district_is_asked_again() -> None:
    dispatcher = CollectingDispatcher()
    result = await ValidateOutageForm().validate_district(
        "우리 동네", dispatcher, message_tracker("우리 동네", None, {}), {}
    )
    assert result == {"district": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_unknown_district"]


async def test_an_outage_in_the_district(dependencies) -> None:
    [message] = await check(dependencies, "강남구")
    assert message["response"] == "utter_outage"
    assert (message["service"], message["cause"]) == ("인터넷", "광케이블 보수 공사")
    assert message["since"] == "11월 22일 11:00"
    assert message["expected_end"] == "11월 22일 15:00"


async def test_an_outage_in_english(dependencies) -> None:
    [message] = await check(dependencies, "해운대구", "en")
    assert (message["service"], message["cause"]) == (
        "mobile",
        "maintenance of a cell tower",
    )


async def test_an_overdue_estimate_is_not_promised(
    dependencies, demo_backend, clock
) -> None:
    await demo_backend.plans()
    clock.advance(hours=5)
    [message] = await check(dependencies, "강남구")
    assert message["response"] == "utter_outage_no_estimate"


async def test_no_outage_and_an_ended_one(dependencies) -> None:
    for district in ("송파구", "마포구"):
        [message] = await check(dependencies, district)
        assert (message["response"], message["district"]) == (
            "utter_no_outage",
            district,
        )


async def test_back_end_down_apologises(with_backend, broken_backend) -> None:
    dependencies = with_backend(broken_backend)
    assert [m["response"] for m in await check(dependencies, "강남구")] == [
        "utter_backend_unavailable"
    ]


def in_form(form: str | None) -> Tracker:
    loop = {"name": form} if form else {}
    return Tracker("c", {}, {"text": "취소"}, [], False, None, loop, "action_listen")


async def test_cancel_drops_the_sign_up_answers() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionCancelForm().run(dispatcher, in_form("signup_form"), {})
    assert events == [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        *(SlotSet(slot, None) for slot in SIGNUP_SLOTS),
    ]
    assert [m["response"] for m in dispatcher.messages] == ["utter_cancelled"]


async def test_cancel_of_the_verification_keeps_nothing_half_done() -> None:
    events = await ActionCancelForm().run(
        CollectingDispatcher(), in_form("verification_form"), {}
    )
    assert SlotSet("phone_number", None) in events
    assert SlotSet("otp_sent_to", None) in events
    assert SlotSet("verified_customer_id", None) not in events


async def test_cancel_outside_a_form_only_answers() -> None:
    dispatcher = CollectingDispatcher()
    assert await ActionCancelForm().run(dispatcher, in_form(None), {}) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_cancelled"]


async def test_a_misunderstanding_asks_to_rephrase_and_is_remembered() -> None:
    from actions.fallback import ActionAskToRephrase

    dispatcher = CollectingDispatcher()
    events = await ActionAskToRephrase().run(dispatcher, in_form(None), {})
    assert events == [SlotSet("misunderstood", True)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_default"]


def conversation(*events: dict) -> Tracker:
    return Tracker(
        "c",
        {"misunderstood": False},
        {},
        list(events),
        False,
        None,
        {},
        "action_listen",
    )


def user(text: str, intent: str) -> dict:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": 0.99}},
    }


def misunderstood(value: bool) -> dict:
    return {"event": "slot", "name": "misunderstood", "value": value}


async def test_a_first_core_fallback_asks_to_rephrase() -> None:
    from actions.fallback import ActionCoreFallback

    dispatcher = CollectingDispatcher()
    tracker = conversation(user("hi", "greet"), misunderstood(False))
    events = await ActionCoreFallback().run(dispatcher, tracker, {})
    assert events == [SlotSet("misunderstood", True)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_default"]


async def test_a_core_fallback_right_after_a_misunderstanding_offers_a_person() -> None:
    from actions.fallback import ActionCoreFallback

    dispatcher = CollectingDispatcher()
    tracker = conversation(
        user("ㅁㄴㅇㄹ", "nlu_fallback"),
        misunderstood(False),
        {"event": "action", "name": "action_ask_to_rephrase"},
        misunderstood(True),
        user("어 그거 있잖아요", "affirm"),
        misunderstood(False),
    )
    events = await ActionCoreFallback().run(dispatcher, tracker, {})
    assert events == [
        SlotSet("misunderstood", True),
        FollowupAction("utter_offer_person"),
    ]
    assert dispatcher.messages == []
