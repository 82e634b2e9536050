"""Recovery: a worker killed with -9 (a real process) leaves calls that get exactly one partial ticket each, with
what was written ahead, a playable recording and the clips; live calls of other processes are never touched;
unfiled drafts are imported; everything is idempotent. Real SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import os
import struct
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select
from store_fixtures import audit_entries, draft, listed_calls, read_ticket, recording_of, store_settings
from typer.testing import CliRunner

from callbot.cli import app
from callbot.config import Settings
from callbot.recording import StereoRecorder, recording_path_of, repair_wav
from callbot.recovery import recover_any_dead_calls, recover_worker_calls
from callbot.store import Store, open_store
from callbot.store.models import AuditEntry, Ticket
from callbot.types import Outcome, TicketDraft

WORKER_SCRIPT = Path(__file__).resolve().parent / "recovery_worker.py"
CALLS = [
    {"call_id": "mid-name@x", "answers": {}},
    {"call_id": "mid-address@x", "answers": {"name": "Nguyễn Văn An"}},
    {"call_id": "mid-need@x", "answers": {"name": "Trần Thị Bình", "address": "số 5 phố Huế"}},
]


class WorkerProcess:
    """recovery_worker.py in its own process, returned once its calls are under way (it printed READY)."""

    def __init__(self, settings: Settings, calls: list[dict]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBOT_")}
        env.update(CALLBOT_DATA_DIR=str(settings.data_dir), CALLBOT_DATABASE_URL=str(settings.database_url),
                   CALLBOT_WORKER_ID=str(settings.worker_id))
        self.log_path = settings.data_dir.parent / f"worker-{settings.worker_id}.log"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log_file:
            self.process = subprocess.Popen([sys.executable, str(WORKER_SCRIPT), json.dumps(calls)],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file,
                                            text=True, env=env)
        self._expect("READY")

    def _expect(self, line: str) -> None:
        got = self.process.stdout.readline().strip()  # type: ignore[union-attr]
        assert got == line, f"worker said {got!r}:\n{self.log_path.read_text()[-3000:]}"

    def finish(self) -> None:
        self.process.stdin.write("finish\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]
        self._expect("FINISHED")

    def kill(self) -> None:
        """SIGKILL, then reap it (a zombie would still look alive to a same-host liveness check)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()  # type: ignore[union-attr]


def _call(store: Store, call_id: str):  # type: ignore[no-untyped-def]
    return next(c for c in listed_calls(store, limit=500) if c.call_id == call_id)


def _header_frames(path: Path) -> int:
    """Sample frames the WAV header claims (libsndfile's canonical 44-byte stereo PCM16 header)."""
    with path.open("rb") as handle:
        handle.seek(40)
        return struct.unpack("<I", handle.read(4))[0] // 4


def _tickets_per_call(store: Store) -> dict[str, int]:
    with Session(store.database.engine) as session:
        counts: dict[str, int] = {}
        for ticket in session.exec(select(Ticket)).all():
            counts[ticket.call_id] = counts.get(ticket.call_id, 0) + 1
        return counts


def _wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_killed_worker_s_calls_each_get_one_partial_ticket_when_it_restarts(
        request: pytest.FixtureRequest, tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = store_settings(request, tmp_path, backend, worker_id="w1")
    WorkerProcess(settings, CALLS).kill()
    recordings = {spec["call_id"]: recording_path_of(settings.data_dir / "recordings", spec["call_id"])
                  for spec in CALLS}
    for path in recordings.values():  # the killed writer never wrote the sizes: players see no audio
        assert _header_frames(path) == 0 and path.stat().st_size > 44 + 2.9 * 8000 * 4

    store = open_store(settings)  # the worker's next incarnation
    report = recover_worker_calls(store, settings)
    assert report is not None and len(report.recovered) == 3 and report.closed == 3 and report.repaired == 3
    for spec in CALLS:
        call = _call(store, spec["call_id"])
        detail = read_ticket(store, call.ticket_number)
        ticket, answers = detail.ticket, spec["answers"]
        assert ticket.outcome == "partial" and ticket.reason == "crashed", ticket
        assert ticket.name == answers.get("name") and ticket.address_text == answers.get("address")
        assert [Path(c).name for c in detail.clips] == [f"{slot}.wav" for slot in answers]
        assert ticket.needs_transcription == bool(answers)  # the clips are there to be listened to
        assert [t.text for t in detail.turns if t.speaker == "caller"] == list(answers.values())
        assert call.outcome == "partial" and call.ended_at is not None and call.has_recording
        assert 2.9 <= (call.ended_at - call.started_at).total_seconds() <= 3.1  # the recording's length
        with wave.open(str(recordings[spec["call_id"]])) as played:  # the stdlib's strict reader plays it
            assert played.getnchannels() == 2 and played.getnframes() == 3 * 8000
        assert recording_of(store, call.id) == recordings[spec["call_id"]]

    again = recover_worker_calls(store, settings)
    assert again is not None and again.recovered == [] and again.closed == 0 and again.repaired == 0
    monkeypatch.setenv("CALLBOT_DATABASE_URL", str(settings.database_url))
    command = CliRunner().invoke(app, ["tickets", "recover"])
    assert command.exit_code == 0 and "0 crashed call(s) filed" in command.output, command.output
    assert _tickets_per_call(store) == {spec["call_id"]: 1 for spec in CALLS}
    store.close()


def test_recovery_never_touches_a_call_live_in_another_process(
        request: pytest.FixtureRequest, tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    settings = store_settings(request, tmp_path, backend, worker_id="a")
    monkeypatch.setenv("CALLBOT_DATABASE_URL", str(settings.database_url))
    live = WorkerProcess(settings, [{"call_id": "live@a", "answers": {"name": "Lê Văn Cường"}}])
    try:
        other_settings = settings.model_copy(update={"worker_id": "b"})
        other = open_store(other_settings)
        started = recover_worker_calls(other, other_settings)  # another worker starting on the same database
        assert started is not None and started.recovered == [] and started.left_live == 1
        command = CliRunner().invoke(app, ["tickets", "recover"])  # its heartbeat is fresh
        assert command.exit_code == 0 and "1 live call(s) left alone" in command.output, command.output
        with caplog.at_level(logging.ERROR):  # a second process wrongly given the same worker id
            same = open_store(settings)
            assert recover_worker_calls(same, settings).recovered == []  # type: ignore[union-attr]
        assert "worker id a is also used by pid" in caplog.text
        call = _call(other, "live@a")
        assert call.ended_at is None and call.ticket_number is None  # untouched
        live.finish()  # the call ends as it would have: its own ticket, no crash reason
        ticket = read_ticket(other, _call(other, "live@a").ticket_number).ticket
        assert ticket.name == "Lê Văn Cường" and ticket.reason is None
    finally:
        live.kill()

    # a worker that dies and never comes back: its calls are recovered once its heartbeat is stale
    gone_settings = settings.model_copy(update={"worker_id": "gone"})
    WorkerProcess(gone_settings, [{"call_id": "gone@c", "answers": {}}]).kill()
    assert recover_any_dead_calls(other, settings).recovered == []  # 60 s without a heartbeat: not yet
    _wait_for(lambda: recover_any_dead_calls(other, settings, stale_after_s=1).recovered)
    assert read_ticket(other, _call(other, "gone@c").ticket_number).ticket.reason == "crashed"
    assert _tickets_per_call(other) == {"live@a": 1, "gone@c": 1}
    for store in (other, same):
        store.close()


def test_a_call_s_own_filing_replaces_a_ticket_recovery_filed_too_early(
        request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """A process cut off from the database stops heartbeating while its call goes on: if an operator's
    ``tickets recover`` files that call as crashed, the call's own ticket (and the number read to the caller)
    still wins when it reaches the database."""
    settings = store_settings(request, tmp_path, "sqlite", worker_id="slow")
    store = open_store(settings)
    recover_worker_calls(store, settings)
    store.call_log.start_call(call_id="slow@x", caller_id=None, locale="vi", started_at=datetime.now(UTC))
    store.call_log.save_draft(call_id="slow@x", draft=TicketDraft("slow@x", "vi", Outcome.partial, name="Phạm Văn Dũng"))
    command = open_store(settings.model_copy(update={"worker_id": "cli"}))
    recovered: list[str] = []
    _wait_for(lambda: recovered.extend(recover_any_dead_calls(command, settings, stale_after_s=0.01).recovered)
              or recovered)  # as soon as its last heartbeat is older than that
    command.close()
    [early] = recovered
    assert read_ticket(store, early).ticket.reason == "crashed"
    number = store.call_log.file_ticket(draft=draft("slow@x"))  # the call's own, complete ticket
    ticket = read_ticket(store, number).ticket
    assert ticket.reason is None and ticket.outcome == "complete" and ticket.name == "Nguyễn Văn An"
    assert _tickets_per_call(store) == {"slow@x": 1}
    assert {a.field for a in audit_entries(store, action="ticket.refile")} >= {"reason", "outcome", "name"}
    with Session(store.database.engine) as session:
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "ticket.refile")).first() is not None
    store.close()


def test_recovery_waits_for_the_database_when_it_is_down_at_start(request: pytest.FixtureRequest,
                                                                   tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite", worker_id="w")
    WorkerProcess(settings, CALLS[1:2]).kill()
    (tmp_path / "db").rename(tmp_path / "db-away")
    store = open_store(settings, check_interval_s=0.2)
    assert recover_worker_calls(store, settings) is None  # nothing to do until the database answers
    (tmp_path / "db-away").rename(tmp_path / "db")
    _wait_for(lambda: _call(store, "mid-address@x").ticket_number is not None)
    assert read_ticket(store, _call(store, "mid-address@x").ticket_number).ticket.name == "Nguyễn Văn An"
    store.close()


def test_unfiled_drafts_are_imported_once_and_unreadable_ones_kept_aside(request: pytest.FixtureRequest,
                                                                          tmp_path: Path) -> None:
    settings = store_settings(request, tmp_path, "sqlite")
    unfiled = settings.data_dir / "unfiled"
    unfiled.mkdir(parents=True)
    record = {"draft": {"call_id": "lost/1", "locale": "vi", "outcome": "complete", "name": "Võ Thị Em",
                        "need_text": "cần nước sạch", "category": "essential_supplies", "notes": []},
              "recording_path": str(settings.data_dir / "recordings" / "lost_1.wav"), "clips": [],
              "saved_at": datetime.now(UTC).isoformat()}
    (unfiled / "lost_1.json").write_text(json.dumps(record), encoding="utf-8")
    (unfiled / "torn.json").write_text('{"draft": {"call_id": "x"', encoding="utf-8")
    (unfiled / "no-call.json").write_text('{"draft": {"name": "Võ Thị Em"}}', encoding="utf-8")
    store = open_store(settings)
    report = recover_any_dead_calls(store, settings)
    [number] = report.imported
    ticket = read_ticket(store, number).ticket
    assert ticket.call_id == "lost/1" and ticket.name == "Võ Thị Em" and ticket.outcome == "complete"
    assert ticket.reason == "unfiled" and ticket.category == "essential_supplies"
    assert sorted(report.bad_unfiled) == ["no-call.json", "torn.json"]
    assert sorted(p.name for p in (unfiled / "quarantine").iterdir()) == ["no-call.json", "torn.json"]
    assert list(unfiled.glob("*.json")) == []
    assert recover_any_dead_calls(store, settings).imported == []
    assert _tickets_per_call(store) == {"lost/1": 1}
    store.close()


def test_repair_wav_sets_the_sizes_from_the_audio_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "r.wav"
    recorder = StereoRecorder(path, 8000)
    for _ in range(120):
        recorder.write_frame(b"\x10\x00" * 160, b"\x20\x00" * 160)
    recorder.close()
    assert repair_wav(path) is not None and not repair_wav(path).repaired  # a finished file is left alone
    with path.open("r+b") as handle:  # what a killed writer leaves: zero sizes, and half a sample frame more
        handle.seek(4)
        handle.write(struct.pack("<I", 36))
        handle.seek(40)
        handle.write(struct.pack("<I", 0))
        handle.seek(0, os.SEEK_END)
        handle.write(b"\x01\x02")
    fixed = repair_wav(path)
    assert fixed is not None and fixed.repaired and fixed.seconds == pytest.approx(2.4)
    with wave.open(str(path)) as played:
        assert played.getnframes() == 120 * 160
    assert path.stat().st_size == 44 + 120 * 160 * 4
    (tmp_path / "not.wav").write_bytes(b"ID3 not a wave file at all")
    assert repair_wav(tmp_path / "not.wav") is None and repair_wav(tmp_path / "missing.wav") is None
