"""How close a message's sentence vector comes to the training examples', as a factor
on the classifier's confidence: a message unlike anything the intents were trained on
is likely to be none of them.

A confidence over the intents says which intent fits best, not whether any fits: a
request the bot has no intent for still gets most of the probability when its words
are those of one intent. The similarity of the message's sentence vector to its
nearest training examples (the mean cosine of the ``neighbours`` nearest) measures
the other thing. It is turned into a factor in [0, 1]: 1 for a message as similar to
the training data as all but the least similar few of the training examples are to
the others (the ``reference_quantile`` of their leave-one-out similarities), falling
as ``(similarity / reference) ** exponent`` below that. A message like the training
data keeps its confidence; one unlike it loses confidence in proportion, so a single
threshold on the product turns away both messages the classifier is unsure of and
messages unlike what it knows.

The fitted detector is the training vectors and three numbers; scoring a message is
one matrix-vector product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.preprocessing import normalize

# Rows of training vectors compared at a time while fitting: bounds the similarity
# matrix held in memory to this many rows of the training set's length.
FIT_BATCH = 1024
# A reference similarity at or below zero would make every message fully in scope.
MIN_REFERENCE = 1e-3


def _mean_top_similarities(
    queries: np.ndarray, vectors: np.ndarray, neighbours: int, skip_self: bool
) -> np.ndarray:
    """Mean cosine similarity of each query to its ``neighbours`` nearest vectors;
    with ``skip_self`` the queries are ``vectors`` themselves and a row is not its
    own neighbour."""
    result = np.empty(len(queries), dtype=np.float64)
    for start in range(0, len(queries), FIT_BATCH):
        similarities = queries[start : start + FIT_BATCH] @ vectors.T
        if skip_self:
            rows = np.arange(len(similarities))
            similarities[rows, rows + start] = -np.inf
        nearest = np.partition(similarities, -neighbours, axis=1)[:, -neighbours:]
        result[start : start + FIT_BATCH] = nearest.mean(axis=1)
    return result


@dataclass
class NeighbourSimilarity:
    """Factor on a message's confidence from its similarity to the training data."""

    vectors: np.ndarray
    neighbours: int
    reference: float
    exponent: float

    def __post_init__(self) -> None:
        self.vectors = np.ascontiguousarray(self.vectors, dtype=np.float32)

    @classmethod
    def fit(
        cls,
        vectors: np.ndarray,
        neighbours: int,
        reference_quantile: float,
        exponent: float,
    ) -> NeighbourSimilarity | None:
        """From the training examples' sentence vectors (rows of zeros, examples
        without one, are left out); None if fewer than two examples have one."""
        if neighbours < 1:
            raise ValueError(f"neighbours must be at least 1, not {neighbours!r}")
        if not 0.0 <= reference_quantile <= 1.0:
            raise ValueError(
                f"reference_quantile must be in [0, 1], not {reference_quantile!r}"
            )
        if exponent < 0:
            raise ValueError(f"exponent must be >= 0, not {exponent!r}")
        vectors = np.asarray(vectors, dtype=np.float32)
        vectors = vectors[np.linalg.norm(vectors, axis=1) > 0]
        if len(vectors) < 2:
            return None
        vectors = normalize(vectors).astype(np.float32)
        neighbours = min(neighbours, len(vectors) - 1)
        held_out = _mean_top_similarities(vectors, vectors, neighbours, skip_self=True)
        reference = max(float(np.quantile(held_out, reference_quantile)), MIN_REFERENCE)
        return cls(vectors, neighbours, reference, float(exponent))

    def similarity(self, vectors: np.ndarray) -> np.ndarray:
        """Mean cosine similarity of each row to its nearest training vectors."""
        queries = normalize(np.asarray(vectors, dtype=np.float32)).astype(np.float32)
        return _mean_top_similarities(
            queries, self.vectors, self.neighbours, skip_self=False
        )

    def factor(self, vectors: np.ndarray) -> np.ndarray:
        """A factor in [0, 1] for each row; 1 for a row of zeros (a message without
        a sentence vector: nothing to judge it by)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        result = np.ones(len(vectors), dtype=np.float64)
        present = np.linalg.norm(vectors, axis=1) > 0
        if present.any():
            ratio = self.similarity(vectors[present]) / self.reference
            result[present] = np.clip(ratio, 0.0, 1.0) ** self.exponent
        return result

    def to_json(self) -> dict[str, Any]:
        """Everything but the vectors, which go to :meth:`arrays`."""
        return {
            "neighbours": self.neighbours,
            "reference": self.reference,
            "exponent": self.exponent,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        return {"neighbour_vectors": self.vectors}

    @classmethod
    def from_saved(
        cls, description: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> NeighbourSimilarity:
        vectors = arrays["neighbour_vectors"]
        neighbours = int(description["neighbours"])
        if vectors.ndim != 2 or not 1 <= neighbours <= len(vectors):
            raise ValueError(
                f"{len(vectors)} saved vectors cannot have {neighbours} neighbours"
            )
        return cls(
            vectors,
            neighbours,
            float(description["reference"]),
            float(description["exponent"]),
        )
