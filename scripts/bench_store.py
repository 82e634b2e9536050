#!/usr/bin/env python3
"""How long filing takes: a whole call's store operations (start, 4 turns, ticket, finish) and file_ticket
alone, on SQLite (WAL) and, with the database unreachable, into the fsynced journal. Optional PostgreSQL:
pass --database-url postgresql+psycopg://... . Prints figures; asserts nothing.

    .venv/bin/python scripts/bench_store.py --calls 200
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from callbot.config import Settings
from callbot.measures import percentile
from callbot.store import CallLog, open_store
from callbot.types import Category, Outcome, TicketDraft


def one_call(store: CallLog, call_id: str) -> tuple[float, float]:
    """(seconds for the whole call's operations, seconds for file_ticket alone)."""
    started = time.perf_counter()
    store.start_call(call_id=call_id, caller_id="0912345678", locale="vi", started_at=datetime.now(UTC))
    for index in range(4):
        store.add_turn(call_id=call_id, speaker="caller" if index % 2 else "bot", text="xin chào", confidence=0.8,
                       start=index * 2.0, end=index * 2.0 + 1.5, kind="speech" if index % 2 else "bot",
                       latency_ms=400.0)
    filing = time.perf_counter()
    store.file_ticket(draft=TicketDraft(call_id=call_id, locale="vi", outcome=Outcome.complete, name="Nguyễn Văn An",
                                        ward_code="00070", province_code="01", need_text="cần lương thực",
                                        category=Category.essential_supplies))
    filed = time.perf_counter()
    store.finish_call(call_id=call_id, outcome="complete", ended_at=datetime.now(UTC))
    return time.perf_counter() - started, filed - filing


def report(label: str, samples: list[tuple[float, float]]) -> None:
    calls = [s[0] * 1000 for s in samples]
    tickets = [s[1] * 1000 for s in samples]
    print(f"{label:<28} whole call p50 {percentile(calls, 50):7.2f} ms  p95 {percentile(calls, 95):7.2f} ms   "
          f"file_ticket p50 {percentile(tickets, 50):6.2f} ms  p95 {percentile(tickets, 95):6.2f} ms  "
          f"(n={len(samples)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "db").mkdir()
        sqlite = open_store(Settings(data_dir=root / "data", database_url=f"sqlite:///{root / 'db' / 'c.db'}"))
        report("sqlite (WAL)", [one_call(sqlite.call_log, f"s{i}") for i in range(args.calls)])
        (root / "db").rename(root / "away")
        report("journal (database down)", [one_call(sqlite.call_log, f"j{i}") for i in range(args.calls)])
        (root / "away").rename(root / "db")
        started = time.perf_counter()
        replayed = sqlite.call_log.replay_journal()
        print(f"replay of {replayed.replayed_calls} journaled calls: {time.perf_counter() - started:.2f} s")
        sqlite.close()
        if args.database_url:
            postgres = open_store(Settings(data_dir=root / "pg", database_url=args.database_url))
            report("postgresql", [one_call(postgres.call_log, f"p{i}-{time.time_ns()}") for i in range(args.calls)])
            postgres.close()


if __name__ == "__main__":
    main()
