"""Scores texts for anger, frustration and distress: the trained pipeline, then rules.

The pipeline's raw probabilities follow the base rates of its training data, and those
differ by language: two KOTE comments in three carry a complaint or anger label, few
GoEmotions comments do. Training therefore picks, per language and emotion, the
threshold with the best F1 on held-out data, and scoring shifts each probability on the
logit scale so that this threshold lands on 0.5. A score of 0.5 or more means "present"
in either language, and the order of scores is unchanged.

No Rasa here: the Rasa component, the training script and the benchmark all score
through :class:`EmotionScorer`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import spacy
from spacy.language import Language

from bot.emotion import features  # noqa: F401  (registers the architecture for load)
from bot.emotion.datasets import LabelledText
from bot.emotion.evaluation import best_threshold, binary_scores
from bot.emotion.labels import EMOTIONS, NEGATIVE_EMOTIONS
from bot.emotion.rules import HANGUL, RULE_NAMES, EmotionRules

DEFAULT_MODEL_PATH = Path("models/emotion/tandem_emotion")
PIPE_NAME = "textcat_multilabel"
# Where the training script records the thresholds it chose, per language and emotion.
META_KEY = "tandem_emotion"
DECISION_THRESHOLD = 0.5
CALIBRATION_BETAS = (1.0, 0.75, 0.5)
_EPSILON = 1e-6


class EmotionModelError(RuntimeError):
    """The trained pipeline is missing or is not an emotion pipeline."""


def negative_score(scores: dict[str, float]) -> float:
    """How negative a message is: the stronger of anger and frustration."""
    return max(scores[emotion] for emotion in NEGATIVE_EMOTIONS)


def text_language(text: str) -> str:
    """``"ko"`` when the text has any Hangul, else ``"en"`` (as the bot decides)."""
    return "ko" if HANGUL.search(text) else "en"


def _logit(probability: float) -> float:
    probability = min(1 - _EPSILON, max(_EPSILON, probability))
    return math.log(probability / (1 - probability))


def calibrate(probability: float, threshold: float) -> float:
    """Shifts ``probability`` on the logit scale so that ``threshold`` becomes 0.5."""
    return 1 / (1 + math.exp(-(_logit(probability) - _logit(threshold))))


def apply_thresholds(
    texts: list[str],
    raw: list[dict[str, float]],
    thresholds: dict[str, dict[str, float]],
) -> list[dict[str, float]]:
    """``raw`` probabilities calibrated with the thresholds of each text's language.

    Blank texts and languages without thresholds keep their raw scores.
    """
    results = []
    for text, scores in zip(texts, raw, strict=True):
        by_emotion = thresholds.get(text_language(text))
        if by_emotion is None or not text.strip():
            results.append(dict(scores))
        else:
            results.append({e: calibrate(scores[e], by_emotion[e]) for e in EMOTIONS})
    return results


def _thresholds_for(
    items: Sequence[LabelledText], raw: list[dict[str, float]], beta: float
) -> dict[str, float]:
    return {
        emotion: best_threshold(
            [emotion in item.emotions for item in items],
            [scores[emotion] for scores in raw],
            beta,
        )
        for emotion in EMOTIONS
    }


def _negative_f1(
    texts: list[str],
    raw: list[dict[str, float]],
    gold: list[bool],
    by_emotion: dict[str, float],
) -> float:
    # Every text of ``texts`` is of one language: the same thresholds for either.
    calibrated = apply_thresholds(texts, raw, dict.fromkeys(("ko", "en"), by_emotion))
    predicted = [negative_score(s) >= DECISION_THRESHOLD for s in calibrated]
    return binary_scores(gold, predicted).f1


def choose_thresholds(
    raw_scores: Callable[[list[str]], list[dict[str, float]]],
    dev: Sequence[LabelledText],
) -> dict[str, dict[str, float]]:
    """Per language of ``dev`` and emotion, the raw probability that should score 0.5.

    Each emotion's threshold maximises its F-beta on ``dev``. The negative decision
    takes the stronger of two scores, so thresholds that are best for each emotion
    alone let it fire too often; beta (1, 0.75 or 0.5: the lower, the more precision
    counts) is the one whose thresholds give the negative decision its best F1 on
    ``dev``.
    """
    thresholds: dict[str, dict[str, float]] = {}
    for language in sorted({item.language for item in dev}):
        items = [item for item in dev if item.language == language]
        texts = [item.text for item in items]
        raw = raw_scores(texts)
        gold = [bool(item.emotions & set(NEGATIVE_EMOTIONS)) for item in items]
        candidates = [_thresholds_for(items, raw, beta) for beta in CALIBRATION_BETAS]
        thresholds[language] = max(
            candidates,
            key=lambda candidate: _negative_f1(texts, raw, gold, candidate),
        )
    return thresholds


class EmotionScorer:
    def __init__(self, nlp: Language, rules: EmotionRules | None) -> None:
        if PIPE_NAME not in nlp.pipe_names:
            raise EmotionModelError(f"the pipeline has no {PIPE_NAME} component")
        labels = set(nlp.get_pipe(PIPE_NAME).labels)
        if labels != set(EMOTIONS):
            raise EmotionModelError(
                f"the pipeline's labels are {sorted(labels)}, not {list(EMOTIONS)}"
            )
        self.nlp = nlp
        self.rules = rules

    @classmethod
    def load(cls, path: Path | str, rules: Iterable[str] = RULE_NAMES) -> EmotionScorer:
        """The pipeline saved at ``path``, with the named rules (none when empty)."""
        path = Path(path)
        if not (path / "meta.json").is_file():
            raise EmotionModelError(
                f"no emotion pipeline at {path}: build it with "
                f"`python -m bot.emotion.train {path}`"
            )
        enabled = list(rules)
        return cls(
            spacy.load(path),
            EmotionRules.from_data_dir(enabled=enabled) if enabled else None,
        )

    @property
    def thresholds(self) -> dict[str, dict[str, float]]:
        """Per language and emotion, the raw probability that scores 0.5."""
        meta = self.nlp.meta.get(META_KEY, {})
        return {
            language: {e: float(by_emotion.get(e, 0.5)) for e in EMOTIONS}
            for language, by_emotion in meta.get("thresholds", {}).items()
        }

    def raw_scores(self, texts: Iterable[str]) -> list[dict[str, float]]:
        """The pipeline's probabilities. Blank text scores 0 for everything."""
        texts = list(texts)
        results = [dict.fromkeys(EMOTIONS, 0.0) for _ in texts]
        filled = [i for i, text in enumerate(texts) if text.strip()]
        docs = self.nlp.pipe(texts[i] for i in filled)
        for i, doc in zip(filled, docs, strict=True):
            results[i] = {emotion: float(doc.cats[emotion]) for emotion in EMOTIONS}
        return results

    def model_scores(self, texts: Iterable[str]) -> list[dict[str, float]]:
        """The pipeline's probabilities calibrated per language, without the rules."""
        texts = list(texts)
        return apply_thresholds(texts, self.raw_scores(texts), self.thresholds)

    def score(self, texts: Iterable[str]) -> list[dict[str, float]]:
        """The pipeline's scores adjusted by the rules, rounded to four places."""
        texts = list(texts)
        results = self.model_scores(texts)
        if self.rules is not None:
            results = [
                self.rules.apply(text, scores)
                for text, scores in zip(texts, results, strict=True)
            ]
        return [{k: round(v, 4) for k, v in scores.items()} for scores in results]
