"""Metrics of the NLU benchmark and the Markdown it writes to docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Confidences times the out-of-scope factor of SparseLinearIntentClassifier spread
# down to a few hundredths, so the grid is finer than the fallback's two decimals.
THRESHOLD_GRID = [round(step / 1000, 3) for step in range(1000)]
# One-sided 95 % normal quantile, for the lower confidence bound of a recall.
CONFIDENCE_Z = 1.645


def percentile_ms(latencies: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(latencies), q))


def accuracy(predicted: Sequence[str | None], expected: Sequence[str]) -> float:
    return float(np.mean([p == e for p, e in zip(predicted, expected, strict=True)]))


def in_scope_accuracy(
    predictions: Sequence[tuple[str | None, float]],
    expected: Sequence[str],
    threshold: float,
    out_of_scope: str,
) -> float:
    """Right intent with at least ``threshold`` confidence."""
    return float(
        np.mean(
            [
                name == truth and name != out_of_scope and confidence >= threshold
                for (name, confidence), truth in zip(predictions, expected, strict=True)
            ]
        )
    )


def out_of_scope_recall(
    predictions: Sequence[tuple[str | None, float]],
    threshold: float,
    out_of_scope: str,
) -> float:
    """Out-of-scope texts either classified as such or below the threshold."""
    return float(
        np.mean(
            [
                name == out_of_scope or confidence < threshold
                for name, confidence in predictions
            ]
        )
    )


def tune_threshold(
    out_of_scope_predictions: Sequence[tuple[str | None, float]],
    out_of_scope: str,
    recall_target: float,
) -> float:
    """The lowest confidence threshold whose out-of-scope recall on validation data
    reaches the target: every higher threshold turns away more in-scope messages.
    The highest-recall threshold if none reaches it."""
    for threshold in THRESHOLD_GRID:
        recall = out_of_scope_recall(out_of_scope_predictions, threshold, out_of_scope)
        if recall >= recall_target:
            return threshold
    return THRESHOLD_GRID[-1]


def recall_lower_bound(recall: float, texts: int, z: float = CONFIDENCE_Z) -> float:
    """Wilson's lower confidence bound of a recall measured on ``texts`` texts."""
    if texts == 0:
        return 0.0
    centre = recall + z * z / (2 * texts)
    spread = z * np.sqrt(recall * (1 - recall) / texts + z * z / (4 * texts * texts))
    return float((centre - spread) / (1 + z * z / texts))


def tune_confident_threshold(
    out_of_scope_predictions: Sequence[tuple[str | None, float]],
    out_of_scope: str,
    recall_target: float,
) -> float:
    """The lowest confidence threshold at which the out-of-scope recall on
    validation data reaches the target with 95 % confidence (Wilson's lower bound):
    a threshold that only just reaches it on a few hundred texts falls short of it
    on other texts as often as not. The highest-recall threshold if none does."""
    texts = len(out_of_scope_predictions)
    for threshold in THRESHOLD_GRID:
        recall = out_of_scope_recall(out_of_scope_predictions, threshold, out_of_scope)
        if recall_lower_bound(recall, texts) >= recall_target:
            return threshold
    return THRESHOLD_GRID[-1]


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        lscpu = subprocess.run(
            ["lscpu"], capture_output=True, text=True, check=True
        ).stdout
        match = re.search(r"Model name:\s*(.+)", lscpu)
        if match:
            cpu = match.group(1).strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    memory_gib = 0.0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"MemTotal:\s*(\d+) kB", meminfo.read_text())
        if match:
            memory_gib = int(match.group(1)) / 1024 / 1024
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_gib:.0f} GiB, "
        f"{platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def replace_section(document: Path, title: str, body: str) -> None:
    """Replaces the ``## title`` section of a Markdown file (up to the next ``## ``
    heading), or appends it; the rest of the file is left as it was."""
    text = document.read_text("utf-8") if document.exists() else ""
    heading = f"## {title}\n"
    section = f"{heading}\n{body.strip()}\n"
    start = text.find(heading)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + len(heading))
        end = len(text) if following == -1 else following + 1
        rest = text[end:]
        text = text[:start] + section + ("\n" + rest if rest else "")
    document.write_text(text, "utf-8")
