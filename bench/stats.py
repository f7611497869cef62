"""Figures: a named set of repeated measurements, summarised as median and spread."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

# With this many samples or more the spread is p10-p90 (outliers such as a GC pause say little);
# below it, min-max (every run counts).
PERCENTILE_MIN_N = 20


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    n: int

    @property
    def spread_kind(self) -> str:
        return "p10-p90" if self.n >= PERCENTILE_MIN_N else "min-max"


def summarize(samples: list[float]) -> Summary:
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    if len(ordered) >= PERCENTILE_MIN_N:
        deciles = statistics.quantiles(ordered, n=10, method="inclusive")
        low, high = deciles[0], deciles[-1]
    else:
        low, high = ordered[0], ordered[-1]
    return Summary(statistics.median(ordered), low, high, len(ordered))


@dataclass
class Figure:
    """One row of the results table. `phone` (and `baresip`, when measured side by side) hold one
    value per run, already in `unit`."""

    key: str
    name: str
    unit: str
    phone: list[float]
    baresip: list[float] = field(default_factory=list)
    note: str = ""

    def ratio(self) -> float | None:
        if not self.phone or not self.baresip:
            return None
        theirs = summarize(self.baresip).median
        return summarize(self.phone).median / theirs if theirs else None


def fmt(value: float) -> str:
    """A number with about three significant digits."""
    size = abs(value)
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def describe(samples: list[float]) -> tuple[str, str]:
    """(median, 'low-high (kind)') as table cells; ('-', '') when nothing was measured."""
    if not samples:
        return "-", ""
    s = summarize(samples)
    return fmt(s.median), f"{fmt(s.low)}-{fmt(s.high)} ({s.spread_kind})"
