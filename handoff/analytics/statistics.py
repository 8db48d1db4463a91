"""Averages and percentiles over the selected rows, the same on every database.

SQLite has no percentile function, so percentiles are computed here, with the
same linear interpolation as PostgreSQL's ``percentile_cont``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def mean(values: Sequence[float]) -> float | None:
    if not values:
        return None
    return math.fsum(values) / len(values)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` (0–1) percentile, interpolated between the nearest ranks."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    weight = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * weight


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
