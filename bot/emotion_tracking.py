"""How the customer's mood develops over a conversation, and when it calls for a person.

The NLU pipeline scores each message for anger, frustration and distress
(``parse_data["emotion"]``), calibrated so that 0.5 means "present". One message says
little; a conversation says more. The frustration level accumulates: every message adds
its own negativity and the earlier level decays, so repeated complaints build up while
calm turns let it settle::

    frustration = min(1, max(signal, DECAY * previous + WEIGHT * signal))

where ``signal`` is how far the message's anger or frustration goes beyond "present"
(``(score - 0.5) / 0.5``, so a borderline 0.55 adds almost nothing), raised for
shouting (all caps), repeated punctuation and for asking the same thing again. A message
with very high anger or distress calls for a person at once; accumulated frustration
does when it crosses its threshold; so does the same question asked a third time. A
message the bot could not understand (``nlu_fallback``) that reads clearly upset goes
to a person too, instead of asking an upset customer to say it another way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

DECAY = 0.7
WEIGHT = 0.5
PRESENT = 0.5
ANGER_THRESHOLD = 0.8
# Model scores alone rarely go this high; the distress-word rules of the emotion
# component (bereavement, fear) put a message at 0.8.
DISTRESS_THRESHOLD = 0.75
FRUSTRATION_THRESHOLD = 0.7
# An upset message the bot did not understand: anger or distress this far above
# "present" (0.5); frustration, the noisiest of the three scores on short Korean
# messages ("아 그렇구나…"), a little further. Laughter (ㅋㅋ, ㅎㅎ, lol) marks a
# message as not upset, whatever the scores.
UPSET_NOT_UNDERSTOOD_THRESHOLD = 0.55
FRUSTRATED_NOT_UNDERSTOOD_THRESHOLD = 0.6
NOT_UNDERSTOOD_INTENT = "nlu_fallback"
_LAUGHTER = re.compile(r"[ㅋㅎ]{2,}|\b(?:lol|haha+|lmao)\b|😂|🤣", re.IGNORECASE)
SHOUTING_BOOST = 0.2
PUNCTUATION_BOOST = 0.1
REPEAT_BOOST = 0.25
REPEATS_BEFORE_ESCALATION = 3
HISTORY_LENGTH = 20

# Intents that are naturally repeated and say nothing about the bot failing; a form
# collects its answers (a plan, a name, an address, a date) as ``inform``.
REPEATABLE_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "inform",
        "inform_phone",
        "rate_service",
        # Several photos of one thing, one after the other.
        "share_attachment",
    }
)

ANGRY = "angry_customer"
FRUSTRATED = "frustrated_customer"
DISTRESSED = "distressed_customer"
REPEATED = "repeated_question"

_LATIN = re.compile(r"[A-Za-z]")
_REPEATED_MARKS = re.compile(r"[!?！？]{2,}")
_NORMALISE = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class EmotionScores:
    anger: float = 0.0
    frustration: float = 0.0
    distress: float = 0.0

    @classmethod
    def from_parse_data(cls, parse_data: dict[str, Any]) -> EmotionScores:
        scores = parse_data.get("emotion") or {}
        return cls(
            anger=_unit(scores.get("anger")),
            frustration=_unit(scores.get("frustration")),
            distress=_unit(scores.get("distress")),
        )


@dataclass(frozen=True)
class MoodUpdate:
    frustration: float
    history_entry: dict[str, float]
    escalation: str | None


def _unit(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, number))


def beyond_present(score: float) -> float:
    return max(0.0, (score - PRESENT) / (1 - PRESENT))


def is_shouting(text: str) -> bool:
    letters = _LATIN.findall(text)
    return len(letters) >= 6 and sum(c.isupper() for c in letters) / len(letters) >= 0.8


def question_key(parse_data: dict[str, Any]) -> str | None:
    """The intent a repeat is judged by: for a retrieval intent the question itself
    (``faq/roaming``), since two different questions answered by one ``faq`` intent
    are not the same question."""
    intent = parse_data.get("intent") or {}
    return intent.get("full_retrieval_intent_name") or intent.get("name")


def times_asked(intent: str | None, text: str, earlier: list[tuple[str, str]]) -> int:
    """How often this question has now been asked, counting this time.

    ``earlier`` holds the (``question_key``, text) of the session's previous user
    messages.
    """
    if intent in REPEATABLE_INTENTS:
        return 1
    key = _NORMALISE.sub("", text.lower())
    same = [
        1
        for earlier_intent, earlier_text in earlier
        if (intent and earlier_intent == intent)
        or (key and _NORMALISE.sub("", earlier_text.lower()) == key)
    ]
    return 1 + len(same)


def update_mood(
    previous_frustration: float,
    parse_data: dict[str, Any],
    earlier_messages: list[tuple[str, str]],
    timestamp: float | None,
) -> MoodUpdate:
    text = str(parse_data.get("text") or "")
    intent = (parse_data.get("intent") or {}).get("name")
    # A message without a single letter (a code, a phone number, "!!!") carries no
    # words to read a mood from; the model's scores for it are noise.
    scores = (
        EmotionScores.from_parse_data(parse_data)
        if any(character.isalpha() for character in text)
        else EmotionScores()
    )
    asked = times_asked(question_key(parse_data), text, earlier_messages)

    signal = beyond_present(max(scores.anger, scores.frustration))
    if is_shouting(text):
        signal += SHOUTING_BOOST
    if _REPEATED_MARKS.search(text):
        signal += PUNCTUATION_BOOST
    if asked > 1:
        signal += REPEAT_BOOST * (asked - 1)
    signal = min(1.0, signal)
    frustration = min(
        1.0, max(signal, DECAY * _unit(previous_frustration) + WEIGHT * signal)
    )

    escalation = None
    if scores.distress >= DISTRESS_THRESHOLD:
        escalation = DISTRESSED
    elif scores.anger >= ANGER_THRESHOLD:
        escalation = ANGRY
    elif frustration >= FRUSTRATION_THRESHOLD:
        escalation = FRUSTRATED
    elif intent == NOT_UNDERSTOOD_INTENT and not _LAUGHTER.search(text):
        escalation = _upset_escalation(scores)
    if escalation is None and asked >= REPEATS_BEFORE_ESCALATION:
        escalation = REPEATED

    entry = {
        "timestamp": float(timestamp or 0.0),
        "anger": round(scores.anger, 3),
        "frustration": round(frustration, 3),
        "distress": round(scores.distress, 3),
    }
    return MoodUpdate(round(frustration, 3), entry, escalation)


def _upset_escalation(scores: EmotionScores) -> str | None:
    """The strongest negative emotion that is clearly there, if any."""
    present = [
        (score, escalation)
        for score, escalation, threshold in (
            (scores.distress, DISTRESSED, UPSET_NOT_UNDERSTOOD_THRESHOLD),
            (scores.anger, ANGRY, UPSET_NOT_UNDERSTOOD_THRESHOLD),
            (scores.frustration, FRUSTRATED, FRUSTRATED_NOT_UNDERSTOOD_THRESHOLD),
        )
        if score >= threshold
    ]
    return max(present)[1] if present else None
