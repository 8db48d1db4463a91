"""What the agent receives with a handoff, gathered from the conversation's tracker."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.service_contract import PRIORITIES, SKILLS, TRIGGERS, field, schema
from bot.message_attachments import attachment_of, transcript_label
from bot.personal_data import default_masker

# Slots that describe the bot's own machinery rather than the customer.
INTERNAL_SLOTS = frozenset(
    {
        "requested_slot",
        "session_started_metadata",
        "emotion_history",
        "escalation",
        "pending_handoff_reason",
        "pending_handoff_routing",
        "otp_sent_to",
        "misunderstood",
    }
)
# The bot's answers that carry account data, by the kind of lookup they report.
LOOKUP_KINDS = {
    **dict.fromkeys(
        (
            "utter_current_bill",
            "utter_bill_history",
            "utter_bill_higher",
            "utter_bill_lower",
            "utter_bill_unchanged",
        ),
        "bill",
    ),
    **dict.fromkeys(
        (
            "utter_bill_paid",
            "utter_bill_unpaid",
            "utter_autopay_info",
            "utter_autopay_changed",
        ),
        "payment",
    ),
    **dict.fromkeys(
        (
            "utter_my_plan",
            "utter_my_plan_unlimited",
            "utter_plan_recommendation_keep",
            "utter_plan_recommendation_cheaper",
            "utter_plan_recommendation_bigger",
        ),
        "plan",
    ),
    **dict.fromkeys(
        ("utter_outage", "utter_no_outage", "utter_outage_no_estimate"), "outage"
    ),
    "utter_signup_done": "order",
}
# Metadata Rasa adds to every bot message; the rest are the answer's values.
RASA_METADATA = frozenset({"utter_action", "template", "model_id", "assistant_id"})
MAX_LOOKUPS: int = field("HandoffContextFields", "lookups")["maxItems"]
EMOTIONS = tuple(schema("EmotionScores")["properties"])


def current_session_events(tracker: Tracker) -> list[dict[str, Any]]:
    """Events since the conversation's latest session started."""
    events = tracker.events
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "session_started":
            return events[index + 1 :]
    return list(events)


def transcript(tracker: Tracker) -> list[dict[str, Any]]:
    """The customer's and the bot's turns of the current session, in order."""
    turns: list[dict[str, Any]] = []
    for event in current_session_events(tracker):
        kind = event.get("event")
        text = event.get("text")
        if kind not in ("user", "bot") or not text:
            continue
        shared = attachment_of(event.get("metadata")) if kind == "user" else None
        if shared is not None:
            # "[photo: meter.jpg]" rather than the /share_attachment payload.
            text = transcript_label(shared)
        turn: dict[str, Any] = {
            "role": kind,
            # The latest messages come from this turn, before the tracker store
            # masked them; agents see the masked form, the slots keep the values.
            "text": default_masker().mask(text),
            "timestamp": event.get("timestamp"),
        }
        if kind == "user":
            parse_data = event.get("parse_data") or {}
            intent = parse_data.get("intent") or {}
            turn["intent"] = intent.get("name")
            turn["confidence"] = intent.get("confidence")
            if parse_data.get("emotion"):
                turn["emotion"] = parse_data["emotion"]
        turns.append(turn)
    return turns


def lookups(tracker: Tracker) -> list[dict[str, Any]]:
    """What the bot already looked up for the customer, from its own answers."""
    found = []
    for event in current_session_events(tracker):
        metadata = event.get("metadata") or {}
        kind = LOOKUP_KINDS.get(metadata.get("utter_action", ""))
        if event.get("event") != "bot" or kind is None:
            continue
        data = {k: v for k, v in metadata.items() if k not in RASA_METADATA}
        found.append({"kind": kind, "summary": event.get("text") or "", "data": data})
    return found[-MAX_LOOKUPS:]


def verified_identity(tracker: Tracker) -> dict[str, Any] | None:
    customer_id = tracker.get_slot("verified_customer_id")
    if not customer_id:
        return None
    identity: dict[str, Any] = {"customer_id": str(customer_id)}
    if tracker.get_slot("verified_customer_name"):
        identity["name"] = str(tracker.get_slot("verified_customer_name"))
    if tracker.get_slot("phone_number"):
        identity["phone_number"] = str(tracker.get_slot("phone_number"))
    for event in reversed(current_session_events(tracker)):
        if event.get("event") == "slot" and event.get("name") == "verified_customer_id":
            identity["verified_at"] = event.get("timestamp")
            break
    return identity


def emotion_context(tracker: Tracker) -> dict[str, Any] | None:
    history = tracker.get_slot("emotion_history") or []
    if not history:
        return None
    latest = history[-1]
    return {
        "scores": {key: latest.get(key, 0.0) for key in EMOTIONS},
        "history": history,
    }


def summary(tracker: Tracker, turns: list[dict[str, Any]]) -> dict[str, str]:
    """A two-line brief for the agent, in both languages.

    The reason and the trigger are not repeated here: staff pages show them from
    the handoff's own fields, in the agent's language.
    """
    said = [turn["text"] for turn in turns if turn["role"] == "user"]
    last = said[-1] if said else ""
    if len(last) > 120:
        last = last[:117] + "..."
    frustration = float(tracker.get_slot("frustration") or 0.0)
    name = tracker.get_slot("verified_customer_name")
    verified_ko = f"본인 확인 완료({name})" if name else "본인 확인 안 됨"
    verified_en = f"Verified as {name}" if name else "Not verified"
    return {
        "ko": (
            f"{verified_ko}. 고객 메시지 {len(said)}개, "
            f'불만 지수 {frustration:.2f}. 마지막 메시지: "{last}"'
        ),
        "en": (
            f"{verified_en}. {len(said)} customer messages, "
            f'frustration {frustration:.2f}. Last message: "{last}"'
        ),
    }


def handoff_context(
    tracker: Tracker,
    reason: str,
    *,
    trigger: str = TRIGGERS.OTHER,
    skill: str = SKILLS.GENERAL,
    priority: str = PRIORITIES.NORMAL,
) -> dict[str, Any]:
    latest = tracker.latest_message or {}
    intent = latest.get("intent") or {}
    turns = transcript(tracker)
    context: dict[str, Any] = {
        "sender_id": tracker.sender_id,
        "channel": tracker.get_latest_input_channel() or "unknown",
        "language": tracker.get_slot("language") or "ko",
        "reason": reason,
        "trigger": trigger,
        "skill": skill,
        "priority": priority,
        "intent": {
            "name": intent.get("name"),
            "confidence": intent.get("confidence"),
        },
        "entities": [
            {"entity": entity.get("entity"), "value": entity.get("value")}
            for entity in latest.get("entities") or []
        ],
        "slots": {
            name: value
            for name, value in tracker.current_slot_values().items()
            if value is not None and name not in INTERNAL_SLOTS
        },
        "transcript": turns,
        "summary": summary(tracker, turns),
        "verified_identity": verified_identity(tracker),
        "lookups": lookups(tracker),
    }
    emotion = emotion_context(tracker)
    if emotion is not None:
        context["emotion"] = emotion
    return context
