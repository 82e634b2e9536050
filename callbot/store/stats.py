"""Dashboard figures computed from plain rows (pure functions, the same on SQLite and PostgreSQL)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlmodel import SQLModel


class HourCount(SQLModel):
    hour: datetime
    calls: int


class LatencyPercentiles(SQLModel):
    count: int
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None


class Stats(SQLModel):
    since: datetime
    until: datetime
    calls_total: int
    tickets_total: int
    calls_per_hour: list[HourCount]
    outcomes: dict[str, int]
    categories: dict[str, int]
    turn_latency: LatencyPercentiles


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks; ``sorted_values`` ascending."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return float(sorted_values[low])
    weight = position - low
    return float(sorted_values[low] * (1 - weight) + sorted_values[high] * weight)


def latency_percentiles(latencies_ms: Iterable[float]) -> LatencyPercentiles:
    values = sorted(latencies_ms)
    return LatencyPercentiles(
        count=len(values),
        p50_ms=percentile(values, 0.50),
        p90_ms=percentile(values, 0.90),
        p99_ms=percentile(values, 0.99),
    )


def calls_per_hour(started: Iterable[datetime], since: datetime, until: datetime) -> list[HourCount]:
    """One bucket per clock hour from ``since`` to ``until`` (empty hours included, so charts have gaps)."""
    first = since.replace(minute=0, second=0, microsecond=0)
    counts = Counter(moment.replace(minute=0, second=0, microsecond=0) for moment in started)
    buckets: list[HourCount] = []
    hour = first
    while hour <= until and len(buckets) < 24 * 93:  # at most a quarter of a year of hourly bars
        buckets.append(HourCount(hour=hour, calls=counts.get(hour, 0)))
        hour += timedelta(hours=1)
    return buckets


def tally(values: Iterable[str | None]) -> dict[str, int]:
    return dict(Counter(value or "unknown" for value in values).most_common())
