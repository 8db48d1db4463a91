"""A linear SVM whose scores become probabilities through a fitted temperature.

A linear SVM on sparse n-grams is as accurate as any linear model here and trains in
seconds, but its scores are margins, not probabilities. Softmax over the margins
divided by one temperature turns them into a distribution; the temperature is the one
that makes the out-of-fold predictions on the training data most likely, so a
confidence of 0.4 means roughly what it says and the fallback threshold and
out-of-scope detection can rely on it. One scalar cannot overfit the way a per-class
calibration can on the few examples an intent has.

The fitted model is two arrays and a scalar; prediction is a sparse-dense product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

# Used when the data are too few to hold any out: every intent needs an example in
# each fold. Margins of a fitted SVM are around ±1, so this keeps them decisive.
DEFAULT_TEMPERATURE = 0.2
# Search range of log(temperature): from near one-hot to near uniform.
LOG_TEMPERATURE_BOUNDS = (-6.0, 3.0)


@dataclass
class LinearScores:
    """Margins of a one-vs-rest linear model: ``x @ coef.T + intercept``."""

    coef: np.ndarray
    intercept: np.ndarray

    def __post_init__(self) -> None:
        # A sparse row times a C-ordered matrix of its own dtype reads only the rows
        # its nonzeros name; times ``coef.T`` as stored (F-ordered), or in float64,
        # scipy would first copy the whole matrix, every message: tens of
        # milliseconds at 150 intents. So the transpose is what is kept, and
        # ``coef`` is a view of it.
        self._columns = np.ascontiguousarray(self.coef.T, dtype=np.float32)
        self.coef = self._columns.T
        self.intercept = np.asarray(self.intercept, dtype=np.float32)

    @classmethod
    def fit(
        cls, features: scipy.sparse.csr_matrix, labels: np.ndarray, c: float
    ) -> LinearScores:
        svm = LinearSVC(C=c, random_state=0)
        svm.fit(features, labels)
        coef, intercept = svm.coef_, svm.intercept_
        if coef.shape[0] == 1:
            # Two classes share one hyperplane; give each its own side of it so that
            # every class has a column of scores.
            coef = np.vstack([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])
        return cls(coef, intercept)

    def __call__(self, features: scipy.sparse.csr_matrix) -> np.ndarray:
        rows = features.astype(np.float32, copy=False)
        scores: np.ndarray = np.asarray(rows @ self._columns) + self.intercept
        return scores


def _fit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    rows = np.arange(len(labels))

    def negative_log_likelihood(log_temperature: float) -> float:
        log_probabilities = log_softmax(scores / np.exp(log_temperature), axis=1)
        return float(-log_probabilities[rows, labels].mean())

    result = minimize_scalar(
        negative_log_likelihood, bounds=LOG_TEMPERATURE_BOUNDS, method="bounded"
    )
    return float(np.exp(result.x))


@dataclass
class CalibratedLinearModel:
    classes: list[str]
    scores: LinearScores
    temperature: float

    @classmethod
    def fit(
        cls,
        features: scipy.sparse.csr_matrix,
        labels: Sequence[str],
        c: float,
        calibration_folds: int,
    ) -> CalibratedLinearModel:
        classes, label_ids = np.unique(np.asarray(labels), return_inverse=True)
        if len(classes) < 2:
            raise ValueError("a classifier needs examples of at least two classes")
        scores = LinearScores.fit(features, label_ids, c)
        folds = min(calibration_folds, int(np.bincount(label_ids).min()))
        temperature = DEFAULT_TEMPERATURE
        if folds >= 2:
            held_out = np.zeros((len(label_ids), len(classes)), dtype=np.float64)
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
            for train, test in splitter.split(np.zeros(len(label_ids)), label_ids):
                fold_scores = LinearScores.fit(features[train], label_ids[train], c)
                held_out[test] = fold_scores(features[test])
            temperature = _fit_temperature(held_out, label_ids)
        return cls([str(name) for name in classes], scores, temperature)

    def predict_proba(self, features: scipy.sparse.csr_matrix) -> np.ndarray:
        """Class probabilities, a row per row of features, columns as ``classes``."""
        probabilities: np.ndarray = softmax(
            self.scores(features) / self.temperature, axis=1
        )
        return probabilities
