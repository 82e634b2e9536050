"""The dashboard's figures from the store (real SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callbot.store import (
    Store,
    stats,
)
from callbot.types import Category
from tests.support.stores import (
    file_call,
)


def test_stats(store: Store) -> None:
    now = datetime.now(UTC)
    file_call(store, "s1", started_at=now - timedelta(hours=2), category=Category.emergency)
    file_call(store, "s2", started_at=now)
    with store.session() as session:
        figures = stats.call_stats(session, since=now - timedelta(hours=3), until=now + timedelta(minutes=1))
    assert figures.calls_total == 2 and figures.outcomes == {"complete": 2}
    assert figures.categories == {"emergency": 1, "essential_supplies": 1}
    assert sum(h.calls for h in figures.calls_per_hour) == 2
    assert figures.turn_latency.count == 2 and figures.turn_latency.p50_ms == 350.0
