"""F-scores of a yes/no decision and the threshold that maximises one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class BinaryScores:
    precision: float
    recall: float
    f1: float
    support: int


def binary_scores(gold: Sequence[bool], predicted: Sequence[bool]) -> BinaryScores:
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    true_pos = sum(g and p for g, p in zip(gold, predicted, strict=True))
    pred_pos = sum(predicted)
    gold_pos = sum(gold)
    precision = true_pos / pred_pos if pred_pos else 0.0
    recall = true_pos / gold_pos if gold_pos else 0.0
    f1 = 2 * precision * recall / (precision + recall) if true_pos else 0.0
    return BinaryScores(precision, recall, f1, gold_pos)


def f_beta(scores: BinaryScores, beta: float) -> float:
    """F-beta: beta below 1 weighs precision more, above 1 recall."""
    precision, recall = scores.precision, scores.recall
    if not precision or not recall:
        return 0.0
    return (1 + beta**2) * precision * recall / (beta**2 * precision + recall)


def best_threshold(
    gold: Sequence[bool], scores: Sequence[float], beta: float = 1.0
) -> float:
    """The threshold in 0.05 … 0.95 (steps of 0.01) with the best F-beta; ties go
    low."""
    candidates = [round(0.05 + step / 100, 2) for step in range(91)]
    return max(
        candidates,
        key=lambda t: (f_beta(binary_scores(gold, [s >= t for s in scores]), beta), -t),
    )
