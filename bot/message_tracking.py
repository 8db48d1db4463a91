"""The bookkeeping every customer message brings: the conversation's language and mood.

Computed inside the Rasa process by ``bot.escalation_policy`` on the first prediction
after a message, and returned as ``SlotSet`` events with that prediction. Rasa applies
a prediction's events to the tracker the predicted action runs with (responses choose
their language variation from the ``language`` slot, actions read the mood), and logs
them before that action; no action server round trip is needed.

A message is *pending* until one of the slots kept here has been set after it. Every
message with text sets ``frustration`` and ``emotion_history``, so a message counts
once, however many predictions follow it. Messages logged while the conversation was
paused for an agent are pending until the bot predicts again; they are then folded in,
in order. A story that sets one of these slots right after a user message (as the
``rasa test`` stories do for the escalation) has thereby booked that message itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core.events import SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.emotion_tracking import HISTORY_LENGTH, question_key, update_mood

LANGUAGE_SLOT = "language"
FRUSTRATION_SLOT = "frustration"
HISTORY_SLOT = "emotion_history"
ESCALATION_SLOT = "escalation"
TRACKED_SLOTS = (LANGUAGE_SLOT, FRUSTRATION_SLOT, HISTORY_SLOT, ESCALATION_SLOT)
EXTERNAL_PREFIX = "EXTERNAL"


@dataclass
class Bookkeeping:
    """The slot values after the pending messages; ``changes`` only what differs."""

    slots: dict[str, Any]
    changes: dict[str, Any] = field(default_factory=dict)

    def events(self) -> list[SlotSet]:
        return [SlotSet(name, value) for name, value in self.changes.items()]


def pending_messages(tracker: DialogueStateTracker) -> list[UserUttered]:
    """The session's user messages not yet booked, oldest first."""
    pending: list[UserUttered] = []
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        if isinstance(event, SlotSet) and event.key in TRACKED_SLOTS:
            break
        if isinstance(event, UserUttered):
            pending.append(event)
    pending.reverse()
    return pending


def session_user_messages(tracker: DialogueStateTracker) -> list[UserUttered]:
    messages: list[UserUttered] = []
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        if isinstance(event, UserUttered):
            messages.append(event)
    messages.reverse()
    return messages


def book_messages(tracker: DialogueStateTracker) -> Bookkeeping:
    """Folds the pending messages into the language and mood slots."""
    slots = {name: tracker.get_slot(name) for name in TRACKED_SLOTS}
    pending = pending_messages(tracker)
    if not pending:
        return Bookkeeping(slots)
    session = session_user_messages(tracker)
    first = len(session) - len(pending)
    earlier = [
        (question_key(message.parse_data or {}) or "", message.text or "")
        for message in session[:first]
    ]
    updated = dict(slots)
    counted = False
    for message in pending:
        text = message.text or ""
        parse_data = message.parse_data or {}
        language = parse_data.get(LANGUAGE_SLOT)
        if language:
            updated[LANGUAGE_SLOT] = language
        if text and not text.startswith(EXTERNAL_PREFIX):
            mood = update_mood(
                updated[FRUSTRATION_SLOT] or 0.0,
                {**parse_data, "text": text},
                earlier,
                message.timestamp,
            )
            history = [*(updated[HISTORY_SLOT] or []), mood.history_entry]
            updated[FRUSTRATION_SLOT] = mood.frustration
            updated[HISTORY_SLOT] = history[-HISTORY_LENGTH:]
            updated[ESCALATION_SLOT] = mood.escalation
            counted = True
        earlier.append((question_key(parse_data) or "", text))
    changes = {
        name: value
        for name, value in updated.items()
        if value != slots[name]
        # A counted message always sets these two, which marks it as booked.
        or (counted and name in (FRUSTRATION_SLOT, HISTORY_SLOT))
    }
    return Bookkeeping(updated, changes)
