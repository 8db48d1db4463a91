"""The NLU benchmark's choice of an out-of-scope threshold."""

from __future__ import annotations

import pytest

from bench.nlu_report import (
    recall_lower_bound,
    tune_confident_threshold,
    tune_threshold,
)


def test_the_lower_bound_is_wilsons() -> None:
    # Wilson's 95 % one-sided lower bound of 120 out of 200.
    assert recall_lower_bound(0.6, 200) == pytest.approx(0.5421, abs=1e-4)
    assert recall_lower_bound(1.0, 10) < 1.0
    assert recall_lower_bound(0.5, 0) == 0.0


def test_the_bound_narrows_as_the_texts_grow() -> None:
    bounds = [recall_lower_bound(0.6, texts) for texts in (50, 200, 1000, 10000)]
    assert bounds == sorted(bounds)
    assert bounds[-1] == pytest.approx(0.6, abs=0.01)


def test_a_confident_threshold_is_above_one_that_just_reaches_the_target() -> None:
    # 100 out-of-scope texts with confidences 0.00, 0.01, ... 0.99, all called in scope.
    predictions = [("some_intent", step / 100) for step in range(100)]
    plain = tune_threshold(predictions, "oos", 0.6)
    confident = tune_confident_threshold(predictions, "oos", 0.6)
    assert 0.59 < plain <= 0.6
    assert confident > plain
    recall = sum(confidence < confident for _, confidence in predictions) / 100
    assert recall_lower_bound(recall, 100) >= 0.6


def test_texts_classified_out_of_scope_count_whatever_their_confidence() -> None:
    predictions = [("oos", 0.99)] * 70 + [("some_intent", 0.99)] * 30
    assert tune_confident_threshold(predictions, "oos", 0.6) == 0.0
