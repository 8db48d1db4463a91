from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.handoff_decision import HandoffDecision, decide_handoff


def tracker(
    intents: list[str],
    slots: dict[str, Any] | None = None,
    last_bot_response: str | None = None,
    emotion: dict[str, float] | None = None,
) -> Tracker:
    events: list[dict[str, Any]] = [{"event": "session_started"}]
    for number, intent in enumerate(intents):
        if number == len(intents) - 1 and last_bot_response:
            events.append(
                {
                    "event": "bot",
                    "text": "…",
                    "metadata": {"utter_action": last_bot_response},
                }
            )
        events.append(
            {
                "event": "user",
                "text": intent,
                "parse_data": {"intent": {"name": intent}},
            }
        )
    latest = {"text": intents[-1], "intent": {"name": intents[-1]}}
    if emotion:
        latest["emotion"] = emotion
    return Tracker("c", slots or {}, latest, events, False, None, {}, "action_listen")


@pytest.mark.parametrize(
    ("intent", "reason", "skill", "priority", "opening"),
    [
        (
            "report_broken_device",
            "broken_device",
            "technical",
            "normal",
            "utter_handoff_complex",
        ),
        (
            "request_contract_change",
            "contract_change",
            "retention",
            "normal",
            "utter_handoff_complex",
        ),
        (
            "request_cancellation",
            "cancellation",
            "retention",
            "normal",
            "utter_handoff_complex",
        ),
        (
            "dispute_bill",
            "billing_dispute",
            "billing",
            "normal",
            "utter_handoff_complex",
        ),
        (
            "request_discount",
            "discount_request",
            "retention",
            "normal",
            "utter_handoff_complex",
        ),
        (
            "moving_abroad",
            "moving_abroad",
            "retention",
            "normal",
            "utter_handoff_complex",
        ),
        (
            "report_bereavement",
            "bereavement",
            "general",
            "high",
            "utter_handoff_distress",
        ),
    ],
)
def test_complex_topics_route_to_their_skill(
    intent: str, reason: str, skill: str, priority: str, opening: str
) -> None:
    assert decide_handoff(tracker([intent])) == HandoffDecision(
        "complex_topic", reason, skill, priority, opening
    )


def test_failed_troubleshooting_is_a_technical_fault() -> None:
    decision = decide_handoff(tracker(["report_internet_down", "deny"]))
    assert (decision.trigger, decision.reason, decision.skill) == (
        "complex_topic",
        "technical_fault",
        "technical",
    )


def test_troubleshooting_the_customer_already_tried_is_a_technical_fault() -> None:
    decision = decide_handoff(tracker(["report_fix_failed"]))
    assert (decision.trigger, decision.reason, decision.skill) == (
        "complex_topic",
        "technical_fault",
        "technical",
    )


def test_asking_to_be_called_back_is_an_explicit_request() -> None:
    decision = decide_handoff(tracker(["ask_bill", "choose_callback"]))
    assert decision == HandoffDecision(
        "explicit_request", "human_requested", "billing", "normal", None
    )


def test_explicit_request_keeps_the_subject_skill() -> None:
    decision = decide_handoff(tracker(["ask_bill", "request_human"]))
    assert decision == HandoffDecision(
        "explicit_request", "human_requested", "billing", "normal", None
    )


def test_angry_complaint() -> None:
    decision = decide_handoff(tracker(["complain"]))
    assert (decision.trigger, decision.reason, decision.priority) == (
        "emotion",
        "angry_customer",
        "high",
    )
    assert decision.opening_response == "utter_handoff_empathy"


def test_accumulated_frustration_on_another_intent() -> None:
    decision = decide_handoff(
        tracker(["ask_bill", "ask_bill"], {"escalation": "frustrated_customer"})
    )
    assert (decision.reason, decision.skill, decision.priority) == (
        "frustrated_customer",
        "billing",
        "high",
    )


def test_distress_with_anger_is_urgent() -> None:
    decision = decide_handoff(
        tracker(
            ["greet"],
            {"escalation": "distressed_customer"},
            emotion={"anger": 0.9, "distress": 0.8},
        )
    )
    assert (decision.reason, decision.priority, decision.opening_response) == (
        "distressed_customer",
        "urgent",
        "utter_handoff_distress",
    )


def test_failed_verification_wins_over_everything() -> None:
    decision = decide_handoff(
        tracker(
            ["complain"], {"verification_failed": True, "escalation": "angry_customer"}
        )
    )
    assert (decision.trigger, decision.reason) == (
        "verification_failed",
        "verification_failed",
    )


def test_accepting_the_offer_after_repeated_failure() -> None:
    decision = decide_handoff(
        tracker(["nlu_fallback", "affirm"], last_bot_response="utter_offer_person")
    )
    assert (decision.trigger, decision.reason) == (
        "repeated_failure",
        "bot_not_understanding",
    )


def test_unknown_situation_is_recorded_honestly() -> None:
    decision = decide_handoff(tracker(["greet"]))
    assert (decision.trigger, decision.reason) == ("other", "bot_could_not_help")
