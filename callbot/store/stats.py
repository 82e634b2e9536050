"""Dashboard figures over a time range: calls per hour, outcomes, categories, bot turn latency percentiles
(computed from plain rows, the same on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, SQLModel, col, select

from callbot.measures import percentile
from callbot.store.models import Call, Ticket, Turn, as_utc, utcnow

DEFAULT_RANGE = timedelta(hours=24)


# The figures' fields, defined once (the API's ``Stats`` is this family's public member, like TicketBase).
class HourCount(SQLModel):
    hour: datetime
    calls: int


class LatencyPercentiles(SQLModel):
    count: int
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None


class CallStats(SQLModel):
    since: datetime
    until: datetime
    calls_total: int
    tickets_total: int
    calls_per_hour: list[HourCount]
    outcomes: dict[str, int]
    categories: dict[str, int]
    turn_latency: LatencyPercentiles


def call_stats(session: Session, *, since: datetime | None = None, until: datetime | None = None) -> CallStats:
    """Figures of the calls started and tickets filed between ``since`` and ``until`` (default: the 24 hours
    up to now)."""
    until = as_utc(until) if until else utcnow()
    since = as_utc(since) if since else until - DEFAULT_RANGE
    calls = session.exec(
        select(Call.started_at, Call.outcome).where(Call.started_at >= since, Call.started_at <= until)
    ).all()
    tickets = session.exec(
        select(Ticket.category).where(Ticket.created_at >= since, Ticket.created_at <= until)
    ).all()
    latencies = session.exec(
        select(Turn.latency_ms).join(Call, col(Call.call_id) == col(Turn.call_id))
        .where(col(Turn.latency_ms).is_not(None), Call.started_at >= since, Call.started_at <= until)
    ).all()
    return CallStats(
        since=since, until=until, calls_total=len(calls), tickets_total=len(tickets),
        calls_per_hour=calls_per_hour((as_utc(s) for s, _ in calls), since, until),
        outcomes=tally(o for _, o in calls), categories=tally(tickets),
        turn_latency=latency_summary([v for v in latencies if v is not None]),
    )


def latency_summary(latencies_ms: list[float]) -> LatencyPercentiles:
    return LatencyPercentiles(count=len(latencies_ms), p50_ms=percentile(latencies_ms, 50),
                              p90_ms=percentile(latencies_ms, 90), p99_ms=percentile(latencies_ms, 99))


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
