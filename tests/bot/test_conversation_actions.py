from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import ActionTrackMessage


def tracker(
    text: str,
    language: str | None,
    slots: dict[str, Any],
    emotion: dict[str, float] | None = None,
    earlier: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> Tracker:
    latest: dict[str, Any] = {"text": text, "intent": {"name": "ask_bill"}}
    if language:
        latest["language"] = language
    if emotion:
        latest["emotion"] = emotion
    events = [{"event": "session_started"}]
    for intent, said in [*earlier, ("ask_bill", text)]:
        events.append(
            {
                "event": "user",
                "text": said,
                "timestamp": 5.0,
                "parse_data": {"intent": {"name": intent}},
            }
        )
    return Tracker("c", slots, latest, events, False, None, {}, "action_listen")


async def run(tracker: Tracker) -> dict[str, Any]:
    events = await ActionTrackMessage().run(CollectingDispatcher(), tracker, {})
    assert all(isinstance(event, dict) and event["event"] == "slot" for event in events)
    return {event["name"]: event["value"] for event in events}


async def test_switches_the_language_slot_to_the_message_language() -> None:
    slots = await run(tracker("hello", "en", {"language": "ko"}))
    assert slots["language"] == "en"


async def test_same_language_or_none_leaves_the_slot() -> None:
    assert "language" not in await run(tracker("안녕", "ko", {"language": "ko"}))
    assert "language" not in await run(
        tracker("010-1234-5678", None, {"language": "en"})
    )


async def test_records_the_mood_of_every_message() -> None:
    previous = [{"timestamp": 1.0, "anger": 0, "frustration": 0.1, "distress": 0}]
    slots = await run(
        tracker(
            "bill?",
            "en",
            {"language": "en", "frustration": 0.1, "emotion_history": previous},
            emotion={"anger": 0.2, "frustration": 0.65, "distress": 0.0},
        )
    )
    assert slots["frustration"] == 0.3
    assert slots["emotion_history"] == [
        *previous,
        {"timestamp": 5.0, "anger": 0.2, "frustration": 0.3, "distress": 0.0},
    ]
    assert "escalation" not in slots


async def test_an_angry_message_sets_the_escalation() -> None:
    slots = await run(
        tracker("WHAT IS THIS BILL", "en", {"language": "en"}, {"anger": 0.95})
    )
    assert slots["escalation"] == "angry_customer"


async def test_the_third_time_the_same_question_is_noticed() -> None:
    earlier = [("ask_bill", "my bill?"), ("ask_bill", "how much is my bill")]
    slots = await run(tracker("bill amount", "en", {"language": "en"}, None, earlier))
    assert slots["escalation"] in ("repeated_question", "frustrated_customer")


async def test_external_intents_do_not_count_as_messages() -> None:
    closed = Tracker(
        "c",
        {"language": "ko"},
        {"text": "EXTERNAL: EXTERNAL_handoff_closed", "intent": {"name": "x"}},
        [],
        False,
        None,
        {},
        "action_listen",
    )
    assert await run(closed) == {}


def test_slot_set_events_are_plain_dicts() -> None:
    assert SlotSet("a", 1) == {
        "event": "slot",
        "timestamp": None,
        "name": "a",
        "value": 1,
    }


async def test_a_message_counts_once_even_if_the_mappings_run_again() -> None:
    counted = [{"timestamp": 5.0, "anger": 0.9, "frustration": 0.8, "distress": 0.0}]
    slots = await run(
        tracker(
            "WHAT IS THIS",
            "en",
            {"language": "en", "frustration": 0.8, "emotion_history": counted},
            {"anger": 0.9},
        )
    )
    assert slots == {}
