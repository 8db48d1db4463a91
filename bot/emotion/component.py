"""Rasa NLU component: anger, frustration and distress on every parsed message.

Writes ``parse_data["emotion"] = {"anger": …, "frustration": …, "distress": …}`` (each
0–1, 0.5 or more meaning present) like ``bot.language_detection`` writes the language:
not an entity, so it never disturbs training or ``rasa test``. The trained pipeline is
built outside Rasa by ``python -m bot.emotion.train`` and loaded from ``model_path``,
so Rasa trains nothing here.

    - name: bot.emotion.component.EmotionScorerComponent
      model_path: models/emotion/tandem_emotion
      # the rules on top of the model (bot.emotion.rules); [] for none
      rules: [profanity, distress_words, shouting, repeated_punctuation]
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

from bot.emotion.rules import RULE_NAMES
from bot.emotion.scoring import DEFAULT_MODEL_PATH, EmotionScorer

EMOTION_KEY = "emotion"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class EmotionScorerComponent(GraphComponent):
    """Adds ``emotion`` scores to each parsed message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"model_path": str(DEFAULT_MODEL_PATH), "rules": list(RULE_NAMES)}

    def __init__(self, scorer: EmotionScorer) -> None:
        self.scorer = scorer

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmotionScorerComponent:
        rules = config["rules"]
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise ValueError(
                f"{cls.__name__}: rules must be a list of rule names, not {rules!r}"
            )
        return cls(EmotionScorer.load(config["model_path"], rules))

    def process(self, messages: list[Message]) -> list[Message]:
        texts = [message.get(TEXT) or "" for message in messages]
        for message, scores in zip(messages, self.scorer.score(texts), strict=True):
            message.set(EMOTION_KEY, scores, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
