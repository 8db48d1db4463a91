"""TF-IDF features of word and character n-grams, stored as plain arrays.

Word n-grams carry English phrasing; character n-grams inside word boundaries carry
Korean morphology (a stem with any particle or ending attached shares its leading
characters with every other form) and typos in both languages. Each block is
L2-normalised on its own, so neither drowns the other whatever its vocabulary size.

A fitted vectorizer is its vocabulary and its inverse document frequencies, nothing
else: it is saved as JSON and a numpy array, never pickled, so loading a model
executes no code from the model file.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from sklearn.feature_extraction.text import CountVectorizer

# Single characters count as words: "I", "a" and one-syllable Korean words ("폰", "돈").
WORD_TOKEN_PATTERN = r"(?u)\b\w+\b"
WORD = "word"
CHAR = "char_wb"


def normalize_text(text: str) -> str:
    """NFKC folds full-width letters and digits and composes decomposed Hangul."""
    return unicodedata.normalize("NFKC", text).lower()


def _count_vectorizer(
    analyzer: str, ngram_range: tuple[int, int], vocabulary: dict[str, int] | None
) -> CountVectorizer:
    return CountVectorizer(
        analyzer=analyzer,
        ngram_range=ngram_range,
        token_pattern=WORD_TOKEN_PATTERN if analyzer == WORD else None,
        lowercase=False,
        vocabulary=vocabulary,
        dtype=np.float64,
    )


@dataclass
class NgramBlock:
    """One fitted block of n-gram features (word or character)."""

    analyzer: str
    ngram_range: tuple[int, int]
    vocabulary: list[str]
    idf: np.ndarray

    @classmethod
    def fit(
        cls, analyzer: str, ngram_range: tuple[int, int], texts: Sequence[str]
    ) -> NgramBlock:
        if analyzer not in (WORD, CHAR):
            raise ValueError(f"analyzer must be '{WORD}' or '{CHAR}', not {analyzer!r}")
        counter = _count_vectorizer(analyzer, ngram_range, vocabulary=None)
        counts = counter.fit_transform(texts)
        vocabulary = [""] * len(counter.vocabulary_)
        for term, index in counter.vocabulary_.items():
            vocabulary[index] = term
        document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
        # Smoothed as if one extra document held every term: no division by zero,
        # no negative weights.
        idf = np.log((1 + counts.shape[0]) / (1 + document_frequency)) + 1.0
        return cls(analyzer, ngram_range, vocabulary, idf)

    def __post_init__(self) -> None:
        self._index = {term: index for index, term in enumerate(self.vocabulary)}
        self._analyze = _count_vectorizer(
            self.analyzer, self.ngram_range, self._index
        ).build_analyzer()

    def weighted_rows(
        self, texts: Sequence[str]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each text's features as sorted column indices and their weights: the
        sublinear TF-IDF of the n-grams in the vocabulary, of length one.

        Built straight from the n-grams instead of through ``CountVectorizer`` and
        scipy's sparse arithmetic, whose checks and copies cost more than the
        arithmetic itself on the one message a turn brings."""
        rows = []
        for text in texts:
            counts: dict[int, int] = {}
            for gram in self._analyze(text):
                index = self._index.get(gram)
                if index is not None:
                    counts[index] = counts.get(index, 0) + 1
            indices = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
            frequencies = np.fromiter(
                (counts[index] for index in indices.tolist()),
                dtype=np.float64,
                count=len(counts),
            )
            # Sublinear term frequency: a word said twice is not twice the evidence.
            weights = (np.log(frequencies) + 1.0) * self.idf[indices]
            norm = float(np.sqrt(weights @ weights))
            if norm > 0:
                weights /= norm
            rows.append((indices, weights))
        return rows


def _rows_to_csr(
    rows: Sequence[tuple[np.ndarray, np.ndarray]], width: int
) -> scipy.sparse.csr_matrix:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(indices) for indices, _ in rows], out=indptr[1:])
    indices = (
        np.concatenate([row[0] for row in rows]) if rows else np.zeros(0, np.int64)
    )
    data = np.concatenate([row[1] for row in rows]) if rows else np.zeros(0)
    return scipy.sparse.csr_matrix((data, indices, indptr), shape=(len(rows), width))


@dataclass
class TextFeatures:
    """Word and character n-gram blocks side by side."""

    blocks: list[NgramBlock]

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        word_ngram_range: tuple[int, int],
        char_ngram_range: tuple[int, int],
    ) -> TextFeatures:
        normalized = [normalize_text(text) for text in texts]
        return cls(
            [
                NgramBlock.fit(WORD, word_ngram_range, normalized),
                NgramBlock.fit(CHAR, char_ngram_range, normalized),
            ]
        )

    @property
    def size(self) -> int:
        return sum(len(block.vocabulary) for block in self.blocks)

    def transform(self, texts: Sequence[str]) -> scipy.sparse.csr_matrix:
        return self.transform_with(texts, None)

    def transform_with(
        self, texts: Sequence[str], dense: np.ndarray | None
    ) -> scipy.sparse.csr_matrix:
        """The n-gram blocks side by side, then ``dense``'s columns if given (one row
        of dense values a text)."""
        normalized = [normalize_text(text) for text in texts]
        per_block = [block.weighted_rows(normalized) for block in self.blocks]
        offsets = np.cumsum([0] + [len(block.vocabulary) for block in self.blocks])
        width = int(offsets[-1])
        if dense is not None:
            dense = np.asarray(dense, dtype=np.float64).reshape(len(texts), -1)
            width += dense.shape[1]
        rows = []
        for number in range(len(texts)):
            indices = [
                block_rows[number][0] + offsets[block]
                for block, block_rows in enumerate(per_block)
            ]
            weights = [block_rows[number][1] for block_rows in per_block]
            if dense is not None:
                indices.append(np.arange(dense.shape[1]) + offsets[-1])
                weights.append(dense[number])
            rows.append((np.concatenate(indices), np.concatenate(weights)))
        return _rows_to_csr(rows, width)

    def to_json(self) -> list[dict[str, Any]]:
        """Everything but the idf arrays, which go to :meth:`arrays`."""
        return [
            {
                "analyzer": block.analyzer,
                "ngram_range": list(block.ngram_range),
                "vocabulary": block.vocabulary,
            }
            for block in self.blocks
        ]

    def arrays(self) -> dict[str, np.ndarray]:
        return {f"idf_{index}": block.idf for index, block in enumerate(self.blocks)}

    @classmethod
    def from_saved(
        cls, description: list[dict[str, Any]], arrays: dict[str, np.ndarray]
    ) -> TextFeatures:
        blocks = []
        for index, block in enumerate(description):
            low, high = block["ngram_range"]
            idf = arrays[f"idf_{index}"]
            if len(idf) != len(block["vocabulary"]):
                raise ValueError(f"block {index}: vocabulary and idf sizes differ")
            blocks.append(
                NgramBlock(block["analyzer"], (low, high), block["vocabulary"], idf)
            )
        return cls(blocks)
