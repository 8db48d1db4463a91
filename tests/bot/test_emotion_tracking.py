from typing import Any

import pytest

from bot.emotion_tracking import (
    ANGRY,
    DISTRESSED,
    FRUSTRATED,
    REPEATED,
    is_shouting,
    times_asked,
    update_mood,
)


def message(text: str, intent: str = "ask_bill", **emotion: float) -> dict[str, Any]:
    return {"text": text, "intent": {"name": intent}, "emotion": emotion}


def test_a_calm_message_leaves_no_frustration() -> None:
    mood = update_mood(0.0, message("이번 달 요금 얼마예요?"), [], 1.0)
    assert mood.frustration == 0.0
    assert mood.escalation is None
    assert mood.history_entry == {
        "timestamp": 1.0,
        "anger": 0.0,
        "frustration": 0.0,
        "distress": 0.0,
    }


def test_very_angry_message_escalates_at_once() -> None:
    mood = update_mood(0.0, message("장난해요?", anger=0.9), [], None)
    assert mood.escalation == ANGRY
    assert mood.frustration == 0.8


def test_a_borderline_score_adds_almost_nothing() -> None:
    mood = update_mood(0.0, message("can you tell me my balance", anger=0.55), [], None)
    assert mood.frustration == pytest.approx(0.1)
    assert mood.escalation is None


def test_distress_comes_before_anger() -> None:
    mood = update_mood(0.0, message("무서워요", anger=0.9, distress=0.8), [], None)
    assert mood.escalation == DISTRESSED


def test_moderate_complaints_build_up_over_turns() -> None:
    frustration, escalations = 0.0, []
    for turn in range(5):
        mood = update_mood(
            frustration,
            message(f"still wrong {turn}", "deny", frustration=0.75),
            [],
            None,
        )
        frustration = mood.frustration
        escalations.append(mood.escalation)
    assert escalations[0] is None
    assert FRUSTRATED in escalations
    assert escalations.index(FRUSTRATED) >= 2


def test_calm_turns_let_frustration_settle() -> None:
    mood = update_mood(0.6, message("ok thanks", "thank"), [], None)
    assert mood.frustration == pytest.approx(0.42)
    assert mood.escalation is None


def test_third_time_the_same_question_escalates() -> None:
    earlier = [("ask_bill", "요금 얼마예요"), ("ask_bill", "요금 얼마냐고요")]
    mood = update_mood(0.0, message("요금이요 요금"), earlier, None)
    assert mood.escalation in (REPEATED, FRUSTRATED)
    assert update_mood(0.0, message("요금이요"), earlier[:1], None).escalation is None


def test_shouting_raises_the_signal() -> None:
    quiet = update_mood(
        0.0, message("why is my bill so high", frustration=0.7), [], None
    )
    loud = update_mood(
        0.0, message("WHY IS MY BILL SO HIGH", frustration=0.7), [], None
    )
    assert loud.frustration > quiet.frustration


@pytest.mark.parametrize(
    ("text", "shouting"),
    [
        ("THIS IS UNACCEPTABLE", True),
        ("This is bad", False),
        ("OK", False),
        ("", False),
    ],
)
def test_is_shouting(text: str, shouting: bool) -> None:
    assert is_shouting(text) is shouting


def test_greetings_are_never_repeats() -> None:
    assert times_asked("greet", "hi", [("greet", "hi"), ("greet", "hi")]) == 1


def test_answers_to_a_form_are_never_repeats() -> None:
    earlier = [
        ("inform", "기가 인터넷 500M"),
        ("inform", "김철수"),
        ("inform", "마포구"),
    ]
    mood = update_mood(0.0, message("12월 5일이요", intent="inform"), earlier, None)
    assert mood.escalation is None
    assert mood.frustration == 0.0


def test_different_questions_of_one_retrieval_intent_are_not_repeats() -> None:
    def faq(question: str, text: str) -> dict[str, Any]:
        parse_data = message(text, intent="faq")
        parse_data["intent"]["full_retrieval_intent_name"] = f"faq/{question}"
        return parse_data

    earlier = [("faq/roaming", "roaming?"), ("faq/opening_hours", "opening hours?")]
    assert (
        update_mood(0.0, faq("lost_phone", "lost my phone"), earlier, None).escalation
        is None
    )
    again = [("faq/roaming", "roaming?"), ("faq/roaming", "roaming abroad?")]
    mood = update_mood(0.0, faq("roaming", "how does roaming work"), again, None)
    assert mood.escalation is not None


def test_same_text_counts_even_with_another_intent() -> None:
    assert times_asked("ask_signup", "Hello?!", [("nlu_fallback", "hello")]) == 2


def test_malformed_scores_count_as_zero() -> None:
    parse_data = {"text": "x", "intent": {"name": "greet"}, "emotion": {"anger": "?"}}
    assert update_mood(0.0, parse_data, [], None).frustration == 0.0


@pytest.mark.parametrize(
    ("scores", "escalation"),
    [
        ({"distress": 0.67, "frustration": 0.48}, DISTRESSED),
        ({"anger": 0.59, "distress": 0.32}, ANGRY),
        ({"frustration": 0.74, "distress": 0.55}, FRUSTRATED),
    ],
)
def test_an_upset_message_the_bot_did_not_understand_goes_to_a_person(
    scores: dict[str, float], escalation: str
) -> None:
    mood = update_mood(
        0.0, message("this again, seriously", "nlu_fallback", **scores), [], None
    )
    assert mood.escalation == escalation


def test_a_calm_message_the_bot_did_not_understand_is_asked_again() -> None:
    mood = update_mood(
        0.0,
        message("qwerty uiop", "nlu_fallback", anger=0.49, frustration=0.43),
        [],
        None,
    )
    assert mood.escalation is None


@pytest.mark.parametrize(
    "text", ["아 데이터 많이 쓰긴 했지 ㅋㅋ 알겠어요", "lol what", "ㅎㅎㅎ 뭐지"]
)
def test_laughter_is_not_upset(text: str) -> None:
    mood = update_mood(0.0, message(text, "nlu_fallback", frustration=0.72), [], None)
    assert mood.escalation is None


def test_frustration_needs_a_little_more_than_the_other_two() -> None:
    mood = update_mood(
        0.0,
        message("아 그렇구나 기다려볼게요", "nlu_fallback", frustration=0.57),
        [],
        None,
    )
    assert mood.escalation is None


def test_an_upset_message_the_bot_understood_is_left_to_the_thresholds() -> None:
    mood = update_mood(0.0, message("요금 얼마예요", distress=0.67), [], None)
    assert mood.escalation is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("482913", "inform_code"),
        ("010-1234-5678", "inform_phone"),
        ("…", "nlu_fallback"),
    ],
)
def test_a_message_without_letters_has_no_mood(text: str, intent: str) -> None:
    mood = update_mood(
        0.0, message(text, intent, anger=0.9, frustration=0.9, distress=0.9), [], 1.0
    )
    assert mood.escalation is None
    assert mood.frustration == 0.0
    assert mood.history_entry["anger"] == 0.0
