"""Rasa's ``ResponseSelector``, and the count-vector features only it reads, run only
on the messages whose intent is a retrieval intent (``faq/…``).

Rasa runs the response selector on every message and throws its answer away unless
the message's intent is a retrieval intent: a TensorFlow model called for nothing on
most turns, fed by two ``CountVectorsFeaturizer`` whose features nothing else in the
pipeline reads (the intent classifier builds its own). These components train
exactly like Rasa's and give the same answer to an FAQ message; every other message
passes through untouched, with no ``response_selector`` property (which nothing but a
retrieval intent's response reads) and no count-vector features. They come after the
intent classifier in the pipeline, which is what names the intent.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


def intent_name(message: Message) -> str | None:
    intent = message.get(INTENT) or {}
    name = intent.get(INTENT_NAME_KEY) if isinstance(intent, dict) else None
    return str(name) if name else None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class FaqResponseSelector(ResponseSelector):
    """Selects a retrieval intent's response, for its messages only."""

    def selects_for(self, message: Message) -> bool:
        """Whether the message's intent is one this selector answers."""
        name = intent_name(message)
        if name is None:
            return False
        if self.retrieval_intent:
            return name == self.retrieval_intent
        return name in self.all_retrieval_intents

    def process(self, messages: list[Message]) -> list[Message]:
        selected = [message for message in messages if self.selects_for(message)]
        if selected:
            super().process(selected)
        return messages


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class FaqCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Count-vector features of the messages whose intent is one of ``intents``
    (every message if the list is empty); trained on every example, like Rasa's."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**CountVectorsFeaturizer.get_default_config(), "intents": []}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        super().validate_config(config)
        intents = config.get("intents")
        if not isinstance(intents, list) or not all(
            isinstance(intent, str) and intent for intent in intents
        ):
            raise ValueError(f"intents must be a list of intent names, not {intents!r}")

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        # Rasa's featurizes the training examples through ``process``; here every
        # example is featurized, as Rasa's would.
        super().process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        intents = self._config["intents"]
        if not intents:
            return super().process(messages)
        selected = [message for message in messages if intent_name(message) in intents]
        if selected:
            super().process(selected)
        return messages
