"""Why the bot hands off, to which queue, and how urgently.

One table per kind of trigger; ``decide_handoff`` reads the conversation and picks the
first that applies, in this order: failed identity verification, distress, a complex
topic, anger or accumulated frustration, an explicit request, an accepted offer of a
person to look at a shared file, an accepted offer after the bot kept failing.
"""

from __future__ import annotations

from dataclasses import dataclass

from rasa_sdk import Tracker

from actions.handoff_context import current_session_events
from actions.service_contract import PRIORITIES, SKILLS, TRIGGERS

EXPLICIT_REQUEST = TRIGGERS.EXPLICIT_REQUEST
COMPLEX_TOPIC = TRIGGERS.COMPLEX_TOPIC
EMOTION = TRIGGERS.EMOTION
REPEATED_FAILURE = TRIGGERS.REPEATED_FAILURE
VERIFICATION_FAILED = TRIGGERS.VERIFICATION_FAILED
OTHER = TRIGGERS.OTHER

BILLING, TECHNICAL = SKILLS.BILLING, SKILLS.TECHNICAL
RETENTION, GENERAL = SKILLS.RETENTION, SKILLS.GENERAL
NORMAL, HIGH, URGENT = PRIORITIES.NORMAL, PRIORITIES.HIGH, PRIORITIES.URGENT


@dataclass(frozen=True)
class Topic:
    reason: str
    skill: str
    priority: str = NORMAL


# Topics the bot does not resolve on its own. Internet or TV trouble reaches a person
# only after the basic troubleshooting failed: the bot's own (see
# data/rules/handoff.yml) or the customer's, told in the first message.
COMPLEX_TOPICS = {
    "report_internet_down": Topic("technical_fault", TECHNICAL),
    "report_fix_failed": Topic("technical_fault", TECHNICAL),
    "report_broken_device": Topic("broken_device", TECHNICAL),
    "request_contract_change": Topic("contract_change", RETENTION),
    "request_cancellation": Topic("cancellation", RETENTION),
    "dispute_bill": Topic("billing_dispute", BILLING),
    "request_discount": Topic("discount_request", RETENTION),
    "moving_abroad": Topic("moving_abroad", RETENTION),
    "report_bereavement": Topic("bereavement", GENERAL, HIGH),
}
# The skill a conversation's subject belongs to, for handoffs that are not about a
# complex topic (an explicit request, anger) but happen while discussing one.
SKILL_BY_INTENT = {
    **{intent: topic.skill for intent, topic in COMPLEX_TOPICS.items()},
    **dict.fromkeys(
        (
            "ask_bill",
            "ask_bill_history",
            "ask_bill_breakdown",
            "ask_payment_status",
            "ask_payment_methods",
            "change_autopay_date",
        ),
        BILLING,
    ),
    "ask_outage": TECHNICAL,
}
# Intents that carry no subject of their own.
CONTENTLESS_INTENTS = frozenset(
    {
        "affirm",
        "deny",
        "greet",
        "goodbye",
        "thank",
        "inform_phone",
        "rate_service",
        "nlu_fallback",
        "request_human",
        "choose_callback",
        "complain",
        "inform",
        "inform_code",
        "share_attachment",
    }
)

# Asking for a person, in the chat or on the phone.
EXPLICIT_REQUEST_INTENTS = frozenset({"request_human", "choose_callback"})

DISTRESSED = "distressed_customer"
ANGRY = "angry_customer"
FRUSTRATED = "frustrated_customer"
OFFER_RESPONSE = "utter_offer_person"
# The offer of a person after the customer shared a photo or a file
# (actions/attachments.py), and the reason of the handoff it leads to.
ATTACHMENT_OFFER = "utter_offer_attachment_help"
ATTACHMENT = "attachment"


@dataclass(frozen=True)
class HandoffDecision:
    trigger: str
    reason: str
    skill: str
    priority: str
    opening_response: str | None
    """What the bot says before the queue position, if anything."""


def topic_intent(tracker: Tracker) -> str | None:
    """The latest intent of the session that names a subject."""
    for event in reversed(current_session_events(tracker)):
        if event.get("event") != "user":
            continue
        name = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if name and name not in CONTENTLESS_INTENTS and not name.startswith("EXTERNAL"):
            return str(name)
    return None


def _last_bot_response(tracker: Tracker) -> str | None:
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action")
    return None


def decide_handoff(tracker: Tracker) -> HandoffDecision:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    topic = topic_intent(tracker)
    skill = SKILL_BY_INTENT.get(topic or "", GENERAL)
    escalation = tracker.get_slot("escalation")
    latest_emotion = (tracker.latest_message.get("emotion") or {}) if intent else {}

    if tracker.get_slot("verification_failed"):
        return HandoffDecision(
            VERIFICATION_FAILED, "verification_failed", GENERAL, NORMAL, None
        )
    if escalation == DISTRESSED:
        angry_too = float(latest_emotion.get("anger") or 0) >= 0.8
        return HandoffDecision(
            EMOTION,
            DISTRESSED,
            skill,
            URGENT if angry_too else HIGH,
            "utter_handoff_distress",
        )
    complex_topic = COMPLEX_TOPICS.get(intent or "") or (
        COMPLEX_TOPICS.get(topic or "") if intent == "deny" else None
    )
    if complex_topic is not None:
        gentle = complex_topic.reason == "bereavement"
        return HandoffDecision(
            COMPLEX_TOPIC,
            complex_topic.reason,
            complex_topic.skill,
            complex_topic.priority,
            "utter_handoff_distress" if gentle else "utter_handoff_complex",
        )
    if escalation in (ANGRY, FRUSTRATED) or intent == "complain":
        reason = FRUSTRATED if escalation == FRUSTRATED else ANGRY
        return HandoffDecision(EMOTION, reason, skill, HIGH, "utter_handoff_empathy")
    if intent in EXPLICIT_REQUEST_INTENTS:
        return HandoffDecision(EXPLICIT_REQUEST, "human_requested", skill, NORMAL, None)
    if intent == "affirm" and _last_bot_response(tracker) == ATTACHMENT_OFFER:
        return HandoffDecision(EXPLICIT_REQUEST, ATTACHMENT, skill, NORMAL, None)
    if intent == "affirm" and _last_bot_response(tracker) == OFFER_RESPONSE:
        return HandoffDecision(
            REPEATED_FAILURE, "bot_not_understanding", GENERAL, NORMAL, None
        )
    return HandoffDecision(OTHER, "bot_could_not_help", skill, NORMAL, None)
