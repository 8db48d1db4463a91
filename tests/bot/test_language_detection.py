import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.language_detection import LanguageDetector, detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("안녕하세요", "ko"),
        ("5G 요금제 얼마예요?", "ko"),
        ("my bill 얼마?", "ko"),
        ("ㅋㅋㅋ", "ko"),
        ("can I talk to a real person", "en"),
        ("hi", "en"),
        ("010-1234-5678", None),
        ("5", None),
        ("👍", None),
        ("", None),
        ("a", None),
    ],
)
def test_detect_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_component_puts_language_on_parsed_message() -> None:
    detector = LanguageDetector()
    korean, undecided = (
        Message(data={"text": "상담원 연결"}),
        Message(data={"text": "1"}),
    )
    detector.process([korean, undecided])
    assert korean.as_dict(only_output_properties=True)["language"] == "ko"
    assert "language" not in undecided.as_dict(only_output_properties=True)
