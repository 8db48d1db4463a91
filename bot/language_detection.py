"""Tells Korean from English on every message, for answers in the customer's language.

Korean customers often mix in English words ("5G 요금제 얼마예요?") while
English-speaking customers practically never type Hangul, so one Hangul character makes
a message Korean.
A message with neither Hangul nor Latin letters ("1", "010-1234-5678", "👍") is left
undecided, and the conversation keeps the language it had.

The result goes on the parsed message as ``parse_data["language"]`` rather than as an
entity, so it never competes with real entities in training or evaluation; the
``language`` slot is filled from it by ``bot.message_tracking``.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

LANGUAGE_KEY = "language"
KOREAN = "ko"
ENGLISH = "en"


def _is_hangul(char: str) -> bool:
    code = ord(char)
    return (
        0xAC00 <= code <= 0xD7A3  # syllables
        or 0x1100 <= code <= 0x11FF  # jamo
        or 0x3130 <= code <= 0x318F  # compatibility jamo (ㅋㅋ, ㅠㅠ)
    )


def detect_language(text: str) -> str | None:
    """Returns ``"ko"``, ``"en"`` or ``None`` when the text shows no language."""
    latin_letters = 0
    for char in text:
        if _is_hangul(char):
            return KOREAN
        if char.isascii() and char.isalpha():
            latin_letters += 1
    return ENGLISH if latin_letters >= 2 else None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class LanguageDetector(GraphComponent):
    """Adds ``language`` to each parsed message."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            language = detect_language(message.get(TEXT) or "")
            if language is not None:
                message.set(LANGUAGE_KEY, language, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
