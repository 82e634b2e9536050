#!/usr/bin/env python3
"""What "nothing lost" costs and how fast it acts. Prints figures; asserts nothing.

- write-ahead: one ``save_draft`` (a call's captured answers, written whenever they change) into the database
  and, with the database unreachable, into the fsynced journal;
- replay latency: calls journaled during an outage reach the database this long after it answers again, with
  no new call to trigger it (the store's background check);
- recovery: crashed calls (a recording left with a killed writer's header, written-ahead drafts) filed as
  partial tickets at a worker's start, per call.

    .venv/bin/python -m scripts.bench_recovery --calls 50 [--postgres]

``--postgres`` also runs a throwaway PostgreSQL cluster (``tests.support.postgres``, hence ``-m`` from the
repository root) and stops/starts it for the replay.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from callbot.config import Settings
from callbot.measures import percentile
from callbot.recording import StereoRecorder, recording_path_of
from callbot.recovery import recover_worker_calls
from callbot.store import CallLog, open_store
from callbot.types import Outcome, TicketDraft


def draft(call_id: str) -> TicketDraft:
    return TicketDraft(call_id=call_id, locale="vi", outcome=Outcome.partial, name="Nguyễn Văn An",
                       address_text="số 5 phố Huế", needs_transcription=True)


def ms(samples: list[float]) -> str:
    median, p95 = percentile(samples, 50) or 0.0, percentile(samples, 95) or 0.0
    return f"median {median * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms ({len(samples)} writes)"


def write_ahead(store: CallLog, calls: int, prefix: str) -> list[float]:
    samples = []
    for index in range(calls):
        call_id = f"{prefix}-{index}"
        store.start_call(call_id=call_id, caller_id=None, locale="vi", started_at=datetime.now(UTC))
        began = time.perf_counter()
        store.save_draft(call_id=call_id, draft=draft(call_id), clips=[f"/tmp/{call_id}/name.wav"])
        samples.append(time.perf_counter() - began)
    return samples


def replay_latency(settings: Settings, calls: int, stop, start) -> float:  # type: ignore[no-untyped-def]
    store = open_store(settings)  # the shipped check interval (2 s)
    call_log = store.call_log
    stop()
    try:
        for index in range(calls):
            call_id = f"outage-{index}"
            call_log.start_call(call_id=call_id, caller_id=None, locale="vi", started_at=datetime.now(UTC))
            call_log.file_ticket(draft=draft(call_id))
            call_log.finish_call(call_id=call_id, outcome="partial", ended_at=datetime.now(UTC))
    finally:
        start()
    back = time.perf_counter()
    while call_log.journal.pending_files():
        time.sleep(0.01)
    latency = time.perf_counter() - back
    store.close()
    return latency


def recovery(settings: Settings, calls: int) -> tuple[float, int]:
    crashed = open_store(settings.model_copy(update={"worker_id": "bench"}))
    recover_worker_calls(crashed, crashed.settings)
    frame = b"\x10\x00" * 160
    unclosed = []  # held open, never closed before recovery: as a killed process leaves them
    for index in range(calls):
        call_id = f"crashed-{index}"
        recording = recording_path_of(settings.data_dir / "recordings", call_id)
        crashed.call_log.start_call(call_id=call_id, caller_id=None, locale="vi", started_at=datetime.now(UTC),
                                    recording_path=recording)
        crashed.call_log.save_draft(call_id=call_id, draft=draft(call_id))
        recorder = StereoRecorder(recording, 8000)
        for _ in range(500):  # 10 s
            recorder.write_frame(frame, frame)
        recorder._flush()
        unclosed.append(recorder)
    crashed.call_log.maintenance.stop()
    restarted = open_store(settings.model_copy(update={"worker_id": "bench"}))
    began = time.perf_counter()
    report = recover_worker_calls(restarted, restarted.settings)
    took = time.perf_counter() - began
    restarted.close()
    return took, len(report.recovered) if report else 0


def run(label: str, settings: Settings, calls: int, stop, start) -> None:  # type: ignore[no-untyped-def]
    store = open_store(settings)
    up = write_ahead(store.call_log, calls, "up")
    stop()
    try:
        down = write_ahead(store.call_log, calls, "down")
    finally:
        start()
    store.close()
    print(f"[{label}] write-ahead save_draft, database up:   {ms(up)}")
    print(f"[{label}] write-ahead save_draft, journal (fsync): {ms(down)}")
    latency = replay_latency(settings, calls, stop, start)
    print(f"[{label}] {calls} journaled calls in the database {latency:.2f} s after it answered again "
          "(no new call; background check every 2 s)")
    took, recovered = recovery(settings, calls)
    print(f"[{label}] recovery at start: {recovered} crashed calls filed in {took:.2f} s "
          f"({took / max(recovered, 1) * 1000:.1f} ms per call, WAV repair included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL cluster")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # recovery says what it files at WARNING: once per call here
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db_dir = root / "db"
        db_dir.mkdir()
        settings = Settings(data_dir=root / "sqlite-data", database_url=f"sqlite:///{db_dir / 'c.db'}")
        run("sqlite", settings, args.calls, lambda: db_dir.rename(root / "away"),
            lambda: (root / "away").rename(db_dir))
        if args.postgres:
            from tests.support.postgres import throwaway_cluster

            with throwaway_cluster() as server:
                settings = Settings(data_dir=root / "pg-data", database_url=server.create_database())
                run("postgresql", settings, args.calls, server.stop, server.start)


if __name__ == "__main__":
    main()
