from pathlib import Path

import pytest

from bot.emotion.rules import (
    LEXICON_FLOOR,
    EmotionRules,
    Lexicon,
    is_shouting,
)

CALM = {"anger": 0.1, "frustration": 0.1, "distress": 0.1}
LEANING_ANGRY = {"anger": 0.45, "frustration": 0.4, "distress": 0.1}


@pytest.fixture(scope="module")
def rules() -> EmotionRules:
    return EmotionRules.from_data_dir()


@pytest.mark.parametrize(
    ("text", "shouting"),
    [
        ("WHY IS MY INTERNET DOWN AGAIN", True),
        ("I AM SO SICK OF THIS", True),
        ("I need a new SIM for my IPTV box and LTE router", False),
        ("USIM 교체 LTE 요금제", False),
        ("hello", False),
        ("", False),
    ],
)
def test_shouting_needs_several_capitalised_words(text: str, shouting: bool) -> None:
    assert is_shouting(text) is shouting


@pytest.mark.parametrize(
    "text",
    [
        "this is fucking ridiculous",
        "What the FUCK is this",
        "씨발 요금 왜 이래",
        "이 개새끼들아",
        "사기꾼들아 돈 돌려내",
    ],
)
def test_profanity_puts_anger_at_the_floor(rules: EmotionRules, text: str) -> None:
    scores = rules.apply(text, CALM)
    assert scores["anger"] == LEXICON_FLOOR
    assert scores["frustration"] == CALM["frustration"]


@pytest.mark.parametrize(
    "text",
    [
        "시발점이 어디예요?",
        "Scunthorpe office hours",
        "shitake mushrooms",
        "damn, I forgot my password",
        "I think that text was a scam",
        "미친 가성비네요",
    ],
)
def test_profanity_list_spares_innocent_words(rules: EmotionRules, text: str) -> None:
    assert not rules.hits(text).profanity


@pytest.mark.parametrize(
    "text",
    [
        "어머니가 돌아가셔서 해지하려고요",
        "아버지가 돌아가셨어요",
        "남편 사망 후 명의 변경",
        "장례식 때문에 연락이 늦었어요",
        "너무 무서워요",
        "my mother passed away last week",
        "I'm scared someone has my phone",
    ],
)
def test_distress_words_put_distress_at_the_floor(
    rules: EmotionRules, text: str
) -> None:
    assert rules.apply(text, CALM)["distress"] == LEXICON_FLOOR


@pytest.mark.parametrize("text", ["my battery died", "답답해 죽겠어요", "무선 인터넷"])
def test_distress_words_spare_figures_of_speech(rules: EmotionRules, text: str) -> None:
    assert not rules.hits(text).distress_words


def test_intensifiers_raise_anger_and_frustration_the_model_leans_to(
    rules: EmotionRules,
) -> None:
    shouted = rules.apply("WHY IS THIS STILL BROKEN", LEANING_ANGRY)
    assert shouted["anger"] == pytest.approx(0.725)
    assert shouted["frustration"] == pytest.approx(0.7)
    assert shouted["distress"] == LEANING_ANGRY["distress"]
    punctuated = rules.apply("인터넷 왜 또 안 돼???", LEANING_ANGRY)
    assert punctuated["anger"] == pytest.approx(0.725)
    mild = {"anger": 0.39, "frustration": 0.2, "distress": 0.0}
    assert rules.apply("WHY IS THIS STILL BROKEN???", mild) == mild


def test_intensifiers_leave_happy_messages_alone(rules: EmotionRules) -> None:
    assert rules.apply("THANK YOU SO MUCH!!!", CALM) == CALM
    assert rules.apply("감사합니다!!!", CALM) == CALM


def test_rules_do_not_change_the_scores_they_are_given(rules: EmotionRules) -> None:
    scores = dict(CALM)
    rules.apply("씨발", scores)
    assert scores == CALM


def test_lexicon_matches_prefixes_only_when_asked() -> None:
    lexicon = Lexicon(["scam*", "damn"])
    assert lexicon.matches("total SCAMMERS")
    assert lexicon.matches("damn it")
    assert not lexicon.matches("damned")


def test_lexicon_rejects_an_empty_entry() -> None:
    with pytest.raises(ValueError, match="empty lexicon entry"):
        Lexicon(["*"])


def test_lexicon_file_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("# a comment naming damn\n\ncrap\n", "utf-8")
    lexicon = Lexicon.from_file(path)
    assert lexicon.matches("oh crap")
    assert not lexicon.matches("a comment naming damn")
