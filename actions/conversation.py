"""Bookkeeping that runs on every customer message."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.emotion_tracking import HISTORY_LENGTH, update_mood
from actions.handoff_context import current_session_events


def earlier_user_messages(tracker: Tracker) -> list[tuple[str, str]]:
    """(intent, text) of the session's user messages before the latest one."""
    messages = [
        (
            ((event.get("parse_data") or {}).get("intent") or {}).get("name") or "",
            event.get("text") or "",
        )
        for event in current_session_events(tracker)
        if event.get("event") == "user"
    ]
    return messages[:-1]


class ActionTrackMessage(Action):
    """Keeps the language and the customer's mood up to date, once per message.

    Runs as the custom slot mapping of ``language``, ``frustration``,
    ``emotion_history`` and ``escalation``, so these are set before the bot chooses
    its answer. The language and the per-message emotion scores come from the NLU
    components in ``bot/``; a message that shows no language (a number, an emoji)
    leaves the language as it was.
    """

    def name(self) -> str:
        return "action_track_message"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[EventType]:
        latest = tracker.latest_message or {}
        events: list[EventType] = []
        language = latest.get("language")
        if language and language != tracker.get_slot("language"):
            events.append(SlotSet("language", language))

        if not latest.get("text") or str(latest["text"]).startswith("EXTERNAL"):
            return events
        timestamp = _latest_user_timestamp(tracker)
        history = list(tracker.get_slot("emotion_history") or [])
        if history and timestamp is not None and history[-1]["timestamp"] == timestamp:
            # Rasa runs the slot mappings again when a form starts on this turn;
            # a message must count once towards the mood.
            return events
        mood = update_mood(
            tracker.get_slot("frustration") or 0.0,
            latest,
            earlier_user_messages(tracker),
            timestamp,
        )
        history = [*history, mood.history_entry][-HISTORY_LENGTH:]
        events.append(SlotSet("frustration", mood.frustration))
        events.append(SlotSet("emotion_history", history))
        if mood.escalation != tracker.get_slot("escalation"):
            events.append(SlotSet("escalation", mood.escalation))
        return events


def _latest_user_timestamp(tracker: Tracker) -> float | None:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("timestamp")
    return None
