"""The figures of the channel benchmark: the spread of a channel's times, the share
within a deadline, and a channel set against the web chat measured in the same run.

Percentiles interpolate between the nearest ranks, as the service's own statistics
do (``handoff.analytics.statistics``), so a p99 of fewer than a hundred samples lies
between the two slowest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handoff.analytics.statistics import percentile

QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class Spread:
    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    def quantiles(self) -> tuple[float, float, float]:
        return self.p50_ms, self.p90_ms, self.p99_ms


def spread(values_ms: Sequence[float]) -> Spread:
    """p50, p90, p99 and the slowest of ``values_ms``; there must be some."""
    if not values_ms:
        raise ValueError("no times to summarise: every turn of the phase failed")
    p50, p90, p99 = (_percentile(values_ms, fraction) for fraction in QUANTILES)
    return Spread(len(values_ms), p50, p90, p99, max(values_ms))


def _percentile(values_ms: Sequence[float], fraction: float) -> float:
    value = percentile(values_ms, fraction)
    assert value is not None
    return value


def share_within(values_ms: Sequence[float], limit_ms: float) -> float:
    """The share (0–1) of ``values_ms`` no longer than ``limit_ms``."""
    if not values_ms:
        raise ValueError("no times to compare with the limit")
    return sum(value <= limit_ms for value in values_ms) / len(values_ms)


def ratios(channel: Spread, baseline: Spread) -> tuple[float, float, float]:
    """``channel`` ÷ ``baseline`` at p50, p90 and p99."""
    if min(baseline.quantiles()) <= 0:
        raise ValueError("the baseline has a time of zero: nothing was measured")
    return (
        channel.p50_ms / baseline.p50_ms,
        channel.p90_ms / baseline.p90_ms,
        channel.p99_ms / baseline.p99_ms,
    )
