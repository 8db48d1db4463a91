"""The text classifier's architecture: a linear model over hashed character n-grams.

spaCy's own bag-of-words classifier sees whole tokens. Korean glues particles and
endings to its words (짜증나네요, 짜증나서, 짜증났어요), so whole tokens rarely repeat;
character n-grams inside each token catch the shared stem, and in English they absorb
typos and inflections. Word unigrams and bigrams keep phrases such as "not happy".

Registered as ``tandem.CharNgramTextCat.v1`` so that ``spacy.load`` can rebuild a saved
pipeline: import this module before loading one.
"""

from __future__ import annotations

from typing import Any

import numpy
from spacy.strings import hash_string  # type: ignore[attr-defined]  # not in stubs
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Logistic, Model, SparseLinear, chain
from thinc.types import Floats2d

ARCHITECTURE = "tandem.CharNgramTextCat.v1"


def text_features(
    doc: Doc, min_char: int, max_char: int, word_ngrams: int
) -> list[str]:
    """The features of one text: prefixed so that a word never collides with a chunk."""
    words = [token.lower_ for token in doc if not token.is_space]
    features = [
        f"w{n}:{' '.join(words[i : i + n])}"
        for n in range(1, word_ngrams + 1)
        for i in range(len(words) - n + 1)
    ]
    for word in words:
        padded = f" {word} "
        for size in range(min_char, max_char + 1):
            features.extend(
                f"c:{padded[i : i + size]}" for i in range(len(padded) - size + 1)
            )
    return features


def _extract_forward(
    model: Model, docs: list[Doc], is_train: bool
) -> tuple[tuple[Any, Any, Any], Any]:
    sizes = model.attrs["sizes"]
    batch_keys = []
    batch_values = []
    for doc in docs:
        keys = numpy.unique(
            numpy.fromiter(
                (hash_string(f) for f in text_features(doc, *sizes)),
                dtype="uint64",
            )
        )
        batch_keys.append(keys)
        # Each text's features weigh as one unit vector, so long comments and short
        # chat messages stand on the same scale.
        weight = 1.0 / numpy.sqrt(max(len(keys), 1))
        batch_values.append(numpy.full(len(keys), weight, dtype="float32"))
    lengths = model.ops.asarray1i([len(keys) for keys in batch_keys])
    keys = numpy.concatenate(batch_keys) if batch_keys else numpy.zeros(0, "uint64")
    values = (
        numpy.concatenate(batch_values) if batch_values else numpy.zeros(0, "float32")
    )

    def backprop(d_output: Any) -> list[Doc]:
        return []

    return (keys, values, lengths), backprop


@registry.architectures(ARCHITECTURE)
def build_char_ngram_textcat(
    min_char: int = 1,
    max_char: int = 4,
    word_ngrams: int = 2,
    length: int = 2**18,
    nO: int | None = None,
) -> Model[list[Doc], Floats2d]:
    """Hashed n-grams → sparse linear layer → one sigmoid per label (multi-label)."""
    if not 1 <= min_char <= max_char or word_ngrams < 1 or length < 1:
        raise ValueError(
            "need 1 <= min_char <= max_char, word_ngrams >= 1, length >= 1"
        )
    extract: Model = Model(
        "extract_char_ngrams",
        _extract_forward,
        attrs={"sizes": (min_char, max_char, word_ngrams)},
    )
    sparse_linear = SparseLinear(nO=nO, length=length)
    model: Model[list[Doc], Floats2d] = chain(extract, sparse_linear, Logistic())
    model.set_ref("output_layer", sparse_linear)
    model.attrs["multi_label"] = True
    return model
