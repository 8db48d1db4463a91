"""offline_contact_form: the offer, the validation of each answer, the confirmation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.business_hours import HoursStatus
from actions.offline_contact import (
    ActionCancelOfflineContact,
    ValidateOfflineContactForm,
    describing_message,
    offer_offline_contact,
)
from tests.bot.tracker_fixtures import load_tracker

DOMAIN = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "domain.yml").read_text("utf-8")
)
FORM_SLOTS = [
    "offline_contact_choice",
    "callback_number",
    "callback_time",
    "ticket_description",
    "offline_contact_confirmed",
]
CLEARED = [SlotSet(slot, None) for slot in FORM_SLOTS]


def seoul(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Seoul"))


def tracker_answering(slot: str, value: Any, **slots: Any) -> Tracker:
    """The English callback conversation, with the customer just answering ``slot``."""
    base = load_tracker("offline_contact_callback_en")
    events = [
        *base.events,
        {"event": "slot", "timestamp": 1795532441.0, "name": slot, "value": value},
    ]
    return load_tracker(
        "offline_contact_callback_en",
        slots={
            **base.slots,
            **dict.fromkeys(FORM_SLOTS),
            "offline_contact_choice": "callback",
            **slots,
            slot: value,
            "requested_slot": slot,
        },
        events=events,
        active_loop={"name": "offline_contact_form"},
        latest_action_name="action_listen",
    )


async def validate(tracker: Tracker) -> tuple[list[Any], list[str]]:
    dispatcher = CollectingDispatcher()
    events = await ValidateOfflineContactForm().run(dispatcher, tracker, DOMAIN)
    return events, [message["response"] for message in dispatcher.messages]


def test_the_offer_says_when_agents_are_back_and_opens_a_clean_form() -> None:
    dispatcher = CollectingDispatcher()
    status = HoursStatus(
        False, None, seoul(2026, 11, 23, 9, 0), seoul(2026, 11, 22, 20, 0), None
    )
    events = offer_offline_contact(
        dispatcher,
        status,
        "ko",
        "billing_dispute",
        trigger="complex_topic",
        skill="billing",
        priority="normal",
    )
    assert dispatcher.messages == [
        {
            **dispatcher.messages[0],
            "response": "utter_handoff_closed_hours",
            "next_open": "내일 오전 9시",
        }
    ]
    assert events == [
        *CLEARED,
        SlotSet("pending_handoff_reason", "billing_dispute"),
        SlotSet(
            "pending_handoff_routing",
            {"trigger": "complex_topic", "skill": "billing", "priority": "normal"},
        ),
        ActiveLoop("offline_contact_form"),
    ]


def test_the_offer_refuses_unknown_routing() -> None:
    status = HoursStatus(False, None, None, seoul(2026, 11, 22, 20, 0), None)
    with pytest.raises(ValueError, match="queue"):
        offer_offline_contact(CollectingDispatcher(), status, "en", "x", queue="vip")


async def test_choosing_a_ticket_prefills_the_issue_from_the_conversation() -> None:
    tracker = load_tracker("offline_contact_ticket_ko")
    assert describing_message(tracker) == "인터넷이 어제부터 계속 끊겨요"
    events, responses = await validate(tracker)
    assert events == [
        SlotSet("offline_contact_choice", "ticket"),
        SlotSet("ticket_description", "인터넷이 어제부터 계속 끊겨요"),
        SlotSet("requested_slot", "offline_contact_confirmed"),
    ]
    assert responses == []


async def test_nothing_worth_a_ticket_leaves_the_issue_to_ask() -> None:
    # The English conversation has only a request for a person and form answers.
    tracker = tracker_answering("offline_contact_choice", "ticket")
    assert describing_message(tracker) is None
    events, _ = await validate(tracker)
    assert events == [
        SlotSet("offline_contact_choice", "ticket"),
        SlotSet("ticket_description", None),
        SlotSet("requested_slot", "ticket_description"),
    ]


async def test_choosing_a_callback_asks_for_the_number() -> None:
    events, _ = await validate(tracker_answering("offline_contact_choice", "callback"))
    assert events == [
        SlotSet("offline_contact_choice", "callback"),
        SlotSet("requested_slot", "callback_number"),
    ]


@pytest.mark.parametrize(
    ("text", "entities", "expected"),
    [
        ("010 2222 3333", [], "010-2222-3333"),
        ("+82 10-2222-3333", [], "010-2222-3333"),
        (
            "제 번호는 01022223333이에요",
            [{"entity": "phone_number", "value": "01022223333"}],
            "010-2222-3333",
        ),
    ],
)
async def test_a_mobile_number_is_kept_in_one_form(
    text: str, entities: list[dict[str, Any]], expected: str
) -> None:
    tracker = tracker_answering("callback_number", text)
    tracker.latest_message = {
        "text": text,
        "intent": {"name": "inform_phone"},
        "entities": entities,
    }
    events, responses = await validate(tracker)
    assert events == [
        SlotSet("callback_number", expected),
        SlotSet("requested_slot", "callback_time"),
    ]
    assert responses == []


@pytest.mark.parametrize("text", ["02-123-4567", "내일 전화 주세요", "010-12-34"])
async def test_a_number_that_is_not_a_mobile_is_asked_again(text: str) -> None:
    events, responses = await validate(tracker_answering("callback_number", text))
    assert events == [
        SlotSet("callback_number", None),
        SlotSet("requested_slot", "callback_number"),
    ]
    assert responses == ["utter_invalid_callback_number"]


async def test_a_preferred_time_is_free_text() -> None:
    events, responses = await validate(
        tracker_answering(
            "callback_time", "  내일 오후 2시  ", callback_number="010-2222-3333"
        )
    )
    assert events == [
        SlotSet("callback_time", "내일 오후 2시"),
        SlotSet("requested_slot", "offline_contact_confirmed"),
    ]
    assert responses == []


@pytest.mark.parametrize("text", ["   ", "x" * 101])
async def test_an_empty_or_overlong_time_is_asked_again(text: str) -> None:
    events, responses = await validate(
        tracker_answering("callback_time", text, callback_number="010-2222-3333")
    )
    assert events == [
        SlotSet("callback_time", None),
        SlotSet("requested_slot", "callback_time"),
    ]
    assert responses == ["utter_invalid_callback_time"]


async def test_a_description_may_be_a_thousand_characters_but_no_more() -> None:
    longest = "가" * 1000
    events, responses = await validate(
        tracker_answering(
            "ticket_description", longest, offline_contact_choice="ticket"
        )
    )
    assert events[0] == SlotSet("ticket_description", longest)
    assert responses == []

    events, responses = await validate(
        tracker_answering(
            "ticket_description", longest + "가", offline_contact_choice="ticket"
        )
    )
    assert events[0] == SlotSet("ticket_description", None)
    assert responses == ["utter_invalid_ticket_description"]


async def test_yes_to_the_confirmation_completes_the_form() -> None:
    events, responses = await validate(
        tracker_answering(
            "offline_contact_confirmed",
            True,
            callback_number="010-2222-3333",
            callback_time="tomorrow afternoon",
        )
    )
    assert events == [
        SlotSet("offline_contact_confirmed", True),
        SlotSet("requested_slot", None),
    ]
    assert responses == []


async def test_no_to_the_confirmation_asks_for_the_details_again() -> None:
    events, responses = await validate(
        tracker_answering(
            "offline_contact_confirmed",
            False,
            callback_number="010-2222-3333",
            callback_time="tomorrow afternoon",
        )
    )
    assert events == [
        SlotSet("offline_contact_confirmed", None),
        SlotSet("callback_number", None),
        SlotSet("callback_time", None),
        SlotSet("requested_slot", "callback_number"),
    ]
    assert responses == ["utter_offline_contact_change"]


async def test_cancelling_ends_the_form_and_forgets_the_handoff() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionCancelOfflineContact().run(
        dispatcher, load_tracker("offline_contact_ticket_ko"), DOMAIN
    )
    assert events == [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        *CLEARED,
        SlotSet("pending_handoff_reason", None),
        SlotSet("pending_handoff_routing", None),
    ]
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_offline_contact_cancelled"
    ]
