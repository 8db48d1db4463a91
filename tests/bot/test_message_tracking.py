"""The per-message bookkeeping on real Rasa trackers and domain."""

from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ConversationPaused,
    ConversationResumed,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.message_tracking import book_messages, pending_messages

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(ROOT / "domain.yml")


def said(
    text: str,
    language: str | None = "en",
    intent: str = "ask_bill",
    timestamp: float = 5.0,
    **emotion: float,
) -> UserUttered:
    parse_data: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [],
    }
    if language:
        parse_data["language"] = language
    if emotion:
        parse_data["emotion"] = emotion
    return UserUttered(text, parse_data["intent"], [], parse_data, timestamp=timestamp)


def tracker(domain: Domain, *events: Any) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "c",
        [ActionExecuted("action_session_start"), SessionStarted(), *events],
        domain.slots,
    )


def applied(domain: Domain, *events: Any) -> DialogueStateTracker:
    """The tracker after the bookkeeping's events, as Rasa logs them."""
    state = tracker(domain, *events)
    state.update_with_events(book_messages(state).events(), domain)
    return state


def test_switches_the_language_slot_to_the_message_language(domain: Domain) -> None:
    changes = book_messages(tracker(domain, said("hello"))).changes
    assert changes["language"] == "en"


def test_same_language_or_none_leaves_the_slot(domain: Domain) -> None:
    assert "language" not in book_messages(tracker(domain, said("안녕", "ko"))).changes
    state = tracker(domain, SlotSet("language", "en"), said("010-1234-5678", None))
    assert "language" not in book_messages(state).changes


def test_records_the_mood_of_every_message(domain: Domain) -> None:
    previous = [{"timestamp": 1.0, "anger": 0, "frustration": 0.1, "distress": 0}]
    state = tracker(
        domain,
        SlotSet("frustration", 0.1),
        SlotSet("emotion_history", previous),
        said("bill?", anger=0.2, frustration=0.65, distress=0.0),
    )
    changes = book_messages(state).changes
    assert changes["frustration"] == 0.3
    assert changes["emotion_history"] == [
        *previous,
        {"timestamp": 5.0, "anger": 0.2, "frustration": 0.3, "distress": 0.0},
    ]
    assert "escalation" not in changes


def test_an_angry_message_sets_the_escalation(domain: Domain) -> None:
    changes = book_messages(tracker(domain, said("WHAT IS THIS BILL", anger=0.95)))
    assert changes.changes["escalation"] == "angry_customer"


def test_the_third_time_the_same_question_is_noticed(domain: Domain) -> None:
    state = applied(domain, said("my bill?", timestamp=1.0))
    state.update(ActionExecuted("action_listen"))
    state.update(said("how much is my bill", timestamp=2.0))
    state.update_with_events(book_messages(state).events(), domain)
    state.update(ActionExecuted("action_listen"))
    state.update(said("bill amount", timestamp=3.0))
    escalation = book_messages(state).slots["escalation"]
    assert escalation in ("repeated_question", "frustrated_customer")


def test_external_intents_do_not_count_as_messages(domain: Domain) -> None:
    closed = UserUttered(
        "EXTERNAL: EXTERNAL_handoff_closed",
        {"name": "EXTERNAL_handoff_closed", "confidence": 1.0},
    )
    assert book_messages(tracker(domain, closed)).changes == {}


def test_a_message_counts_once_however_many_predictions_follow(domain: Domain) -> None:
    state = applied(domain, said("WHAT IS THIS", anger=0.9))
    assert state.get_slot("escalation") == "angry_customer"
    assert pending_messages(state) == []
    assert book_messages(state).changes == {}
    state.update(ActionExecuted("outage_form"))
    assert book_messages(state).changes == {}


def test_a_calm_message_is_marked_as_counted(domain: Domain) -> None:
    state = applied(domain, said("hello", intent="greet"))
    assert len(state.get_slot("emotion_history")) == 1
    assert pending_messages(state) == []


def test_a_story_that_sets_the_escalation_has_booked_its_message(
    domain: Domain,
) -> None:
    state = tracker(domain, said("bill?"), SlotSet("escalation", "frustrated_customer"))
    bookkeeping = book_messages(state)
    assert bookkeeping.changes == {}
    assert bookkeeping.slots["escalation"] == "frustrated_customer"


def test_messages_logged_while_paused_are_folded_in_order(domain: Domain) -> None:
    state = applied(
        domain, said("I want a person", intent="request_human", timestamp=1.0)
    )
    state.update(ActionExecuted("action_handoff"))
    state.update(ConversationPaused())
    state.update(said("hurry up", intent="inform", timestamp=2.0, frustration=0.9))
    state.update(said("여보세요", "ko", "greet", timestamp=3.0, frustration=0.9))
    state.update(ConversationResumed())
    closed = UserUttered(
        "EXTERNAL: EXTERNAL_handoff_closed",
        {"name": "EXTERNAL_handoff_closed", "confidence": 1.0},
        timestamp=4.0,
    )
    state.update(closed)
    changes = book_messages(state).changes
    assert changes["language"] == "ko"
    timestamps = [entry["timestamp"] for entry in changes["emotion_history"]]
    assert timestamps == [1.0, 2.0, 3.0]
    # 0.8, then 0.7 * 0.8 + 0.5 * 0.8 = 0.96
    assert changes["frustration"] == pytest.approx(0.96)


def test_a_new_session_starts_from_its_own_messages(domain: Domain) -> None:
    state = applied(domain, said("bill?", timestamp=1.0))
    state.update(ActionExecuted("action_session_start"))
    state.update(SessionStarted())
    state.update(said("bill?", timestamp=2.0))
    assert [message.timestamp for message in pending_messages(state)] == [2.0]
