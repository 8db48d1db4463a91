"""The baseline the emotion component is measured against: TF-IDF, logistic regression.

Word 1–2 grams and character 1–4 grams inside word boundaries (the same kinds of
features the component hashes), one logistic regression per emotion, trained on the
same examples and calibrated on the same held-out data the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from bot.emotion.datasets import LabelledText
from bot.emotion.labels import EMOTIONS


class TfidfLogisticBaseline:
    def __init__(self) -> None:
        self.vectorizer = FeatureUnion(
            [
                ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True
                    ),
                ),
            ]
        )
        self.classifiers: dict[str, LogisticRegression] = {}

    def fit(self, items: Sequence[LabelledText]) -> TfidfLogisticBaseline:
        features = self.vectorizer.fit_transform([item.text for item in items])
        for emotion in EMOTIONS:
            gold = [int(emotion in item.emotions) for item in items]
            classifier = LogisticRegression(max_iter=1000, solver="liblinear")
            self.classifiers[emotion] = classifier.fit(features, gold)
        return self

    def raw_scores(self, texts: list[str]) -> list[dict[str, float]]:
        features = self.vectorizer.transform(texts)
        columns = {
            emotion: classifier.predict_proba(features)[:, 1]
            for emotion, classifier in self.classifiers.items()
        }
        return [
            {emotion: float(columns[emotion][row]) for emotion in EMOTIONS}
            for row in range(len(texts))
        ]
