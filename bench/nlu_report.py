"""Metrics of the NLU benchmark and the Markdown it writes to docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

THRESHOLD_GRID = [round(step / 100, 2) for step in range(100)]


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
