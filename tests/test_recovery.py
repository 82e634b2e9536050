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
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from callbot.cli import app
from callbot.config import Settings
from callbot.recording import StereoRecorder, recording_path_of, repair_wav
from callbot.recovery import recover_any_dead_calls, recover_worker_calls
from callbot.store import Store, open_store
from callbot.store.models import AuditEntry, Call, Ticket
from callbot.types import Outcome, TicketDraft
from tests.support import REPO, scripted_service
from tests.support.ports import free_port
from tests.support.processes import wait_for_http
from tests.support.scripted_service import ANSWERS
from tests.support.sip import ServiceProcess, run_peer, start_peer, start_service
from tests.support.speech import espeak_wav
from tests.support.stores import audit_entries, draft, listed_calls, read_ticket, recording_of, store_settings
from tests.support.waiting import wait_until

CALLS = [
    {"call_id": "mid-name@x", "answers": {}},
    {"call_id": "mid-address@x", "answers": {"name": "Nguyễn Văn An"}},
    {"call_id": "mid-need@x", "answers": {"name": "Trần Thị Bình", "address": "số 5 phố Huế"}},
]


class WorkerProcess:
    """tests/support/recovery_worker.py in its own process, returned once its calls are under way (it printed READY)."""

    def __init__(self, settings: Settings, calls: list[dict]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBOT_")}
        env.update(CALLBOT_DATA_DIR=str(settings.data_dir), CALLBOT_DATABASE_URL=str(settings.database_url),
                   CALLBOT_WORKER_ID=str(settings.worker_id))
        self.log_path = settings.data_dir.parent / f"worker-{settings.worker_id}.log"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log_file:
            self.process = subprocess.Popen([sys.executable, "-m", "tests.support.recovery_worker", json.dumps(calls)], cwd=REPO,
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
    wait_until(lambda: recover_any_dead_calls(other, settings, stale_after_s=1).recovered, 30, "the dead call recovered")
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
    # as soon as its last heartbeat is older than that
    [early] = wait_until(lambda: recover_any_dead_calls(command, settings, stale_after_s=0.01).recovered, 30,
                         "the live call recovered as crashed")
    command.close()
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
    wait_until(lambda: _call(store, "mid-address@x").ticket_number is not None, 30, "the ticket filed")
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


# --- over real SIP ------------------------------------------------------------------------------------------
# Nothing lost, over real SIP: the service (``python -m callbot.service``) is killed with -9 in the middle of
# calls and restarted; a poisoned journal line blocks nothing; PostgreSQL stops and comes back with no new call;
# a worker never recovers another worker's live call. Callers are real pjsua2 peers (tests/support/sip_peer.py); the
# state of each call is read from the store (what was written ahead), never guessed with sleeps.
HOLD = ["until_speech:20", "until_quiet:0.8"]  # the greeting and the first question (name) have been said
PATIENT = {"CALLBOT_NO_INPUT_TIMEOUT_S": "90"}  # a silent caller stays at its question until the kill


def _store(data_dir: Path, database_url: str | None = None) -> Store:
    return open_store(Settings(data_dir=data_dir, database_url=database_url), migrate=False)


def _calls(data_dir: Path, database_url: str | None = None) -> list[Call]:
    """Every call row, with what was written ahead (draft, clips) and its owner."""
    store = _store(data_dir, database_url)
    try:
        with Session(store.database.engine) as session:
            return list(session.exec(select(Call).order_by(Call.id)).all())
    finally:
        store.close()


def _kill_9(service: ServiceProcess) -> None:
    service.process.kill()
    service.process.wait(30)


def _ticket(store: Store, call: Call):  # type: ignore[no-untyped-def]
    public = next(c for c in listed_calls(store, limit=500) if c.call_id == call.call_id)
    assert public.ticket_number, f"call {call.call_id} has no ticket"
    return public, read_ticket(store, public.ticket_number)


def _plays(path: Path) -> float:
    """Seconds of audio the stdlib's strict WAV reader finds (it refuses a header a killed writer left)."""
    with wave.open(str(path)) as played:
        assert played.getnchannels() == 2
        return played.getnframes() / played.getframerate()


@pytest.fixture
def callers() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for caller in started:  # still "in" calls with a dead bot: nobody will send them a BYE
        if caller.poll() is None:
            caller.kill()
        caller.wait(30)


@pytest.mark.slow
@pytest.mark.sip
def test_kill_9_mid_name_mid_address_and_mid_need_each_call_gets_one_partial_ticket(
        tmp_path: Path, espeak: str, callers: list[subprocess.Popen]) -> None:
    data = tmp_path / "data"
    env = {"CALLBOT_WORKER_ID": "sip-worker-1", **PATIENT}
    name = espeak_wav(tmp_path / "name.wav", "Tôi tên là Nguyễn Văn An", "vi", rate=8000)
    address = espeak_wav(tmp_path / "address.wav", "Số năm phố Huế, phường Hai Bà Trưng", "vi", rate=8000)
    answered = {  # clips each caller leaves before the kill -> its stage
        0: [], 1: [f"play:{name}", "until_quiet:0.8"],
        2: [f"play:{name}", "until_quiet:0.8", f"play:{address}", "until_quiet:0.8"],
    }
    service = start_service(data, env)
    try:
        for stage, steps in answered.items():
            args = ["--target", service.uri, *[a for s in [*HOLD, *steps, "hold:300"] for a in ("--step", s)]]
            callers.append(start_peer(tmp_path / f"caller-{stage}.json", *args))

        def stages() -> list[int]:
            return sorted(len(call.clips or []) for call in _calls(data))

        # mid-name: asked its name; mid-address: the name's clip written ahead; mid-need: both clips
        wait_until(lambda: stages() == [0, 1, 2], 120, "three calls at three stages", failed=service.died)
        _kill_9(service)
    finally:
        if service.alive():
            _kill_9(service)
    before = {call.call_id: call for call in _calls(data)}
    assert all(call.ended_at is None and call.worker_id == "sip-worker-1" for call in before.values())

    restarted = start_service(data, env)  # the same worker, a new incarnation: recovery runs before answering
    try:
        assert "3 crashed call(s) filed as partial tickets" in restarted.log(), restarted.log()[-3000:]
        store = _store(data)
        for call in before.values():
            public, detail = _ticket(store, call)
            clips = [Path(c).name for c in detail.clips]
            assert detail.ticket.outcome == "partial" and detail.ticket.reason == "crashed"
            assert clips == ["name.wav", "address.wav"][: len(call.clips or [])], clips
            assert detail.ticket.needs_transcription  # record-only: the clips are the captured slots
            assert public.outcome == "partial" and public.ended_at is not None
            recording = recording_of(store, public.id)
            assert recording is not None and _plays(recording) > 5.0
        store.close()
    finally:
        assert restarted.stop() == 0, restarted.log()[-3000:]

    again = start_service(data, env)  # recovery is idempotent: nothing to file twice
    assert again.stop() == 0, again.log()[-3000:]
    assert "crashed call(s) filed" not in again.log()
    command = subprocess.run([sys.executable, "-m", "callbot", "tickets", "recover"], cwd=REPO, text=True,
                             capture_output=True, env={**os.environ, "CALLBOT_DATA_DIR": str(data)}, timeout=120)
    assert command.returncode == 0 and "0 crashed call(s) filed" in command.stdout, command.stdout + command.stderr
    store = _store(data)
    numbers = [c.ticket_number for c in listed_calls(store, limit=500)]
    assert len(numbers) == 3 and all(numbers)  # one ticket per call, no more
    store.close()


@pytest.mark.slow
@pytest.mark.sip
def test_slot_values_captured_as_text_survive_a_kill_9(tmp_path: Path, espeak: str,
                                                        callers: list[subprocess.Popen]) -> None:
    """With a recognizer that produces text (the scripted one of tests/support/scripted_service.py: what is
    proven here is the write-ahead and recovery, not ASR), the name and address captured before the kill are
    on the recovered ticket."""
    data = tmp_path / "data"
    env = {"CALLBOT_WORKER_ID": "sip-worker-2", **PATIENT}
    wavs = {slot: espeak_wav(tmp_path / f"{slot}.wav", text, "vi", rate=8000) for slot, text in ANSWERS.items()}
    scripted = scripted_service.command(list(ANSWERS.values()))
    service = start_service(data, env, command=scripted)
    try:
        steps = [*HOLD, f"play:{wavs['name']}", "until_quiet:0.8", f"play:{wavs['address']}", "until_quiet:0.8",
                 "hold:300"]
        callers.append(start_peer(tmp_path / "c.json", "--target", service.uri,
                                  *[a for s in steps for a in ("--step", s)]))

        def captured() -> dict:
            calls = _calls(data)
            return (calls[0].draft or {}) if calls else {}

        wait_until(lambda: captured().get("ward_name"), 120, "the address written ahead", failed=service.died)
        assert captured()["name"] == ANSWERS["name"] and not captured().get("need_text")  # mid-need
        _kill_9(service)
    finally:
        if service.alive():
            _kill_9(service)
    restarted = start_service(data, env)  # the plain service recovers it: recovery needs no recognizer
    try:
        store = _store(data)
        [call] = _calls(data)
        _, detail = _ticket(store, call)
        ticket = detail.ticket
        assert ticket.reason == "crashed" and ticket.outcome == "partial"
        assert ticket.name == "Nguyễn Văn An"
        assert ticket.ward_name == "Phường Hai Bà Trưng" and ticket.province_code == "01"
        assert ticket.need_text is None
        assert [t.text for t in detail.turns if t.speaker == "caller"] == [ANSWERS["name"], ANSWERS["address"]]
        assert _plays(recording_of(store, _ticket(store, call)[0].id)) > 5.0  # type: ignore[arg-type]
        store.close()
    finally:
        assert restarted.stop() == 0, restarted.log()[-3000:]


POISON = '{"call_id":"poison@x","op":"add_turn","speaker":"caller"}'


@pytest.mark.slow
@pytest.mark.sip
def test_a_poisoned_journal_line_blocks_no_call(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = start_service(data)
    try:
        (data / "journal" / "poisoned.jsonl").write_text(POISON + "\n", encoding="utf-8")  # appears mid-service
        for index in range(2):
            report = run_peer(tmp_path / f"r{index}.json", "--target", service.uri, "--step", "until_speech:20",
                              "--step", "hangup")
            assert report["connected"], report
            wait_until(lambda: any(c.call_id == report["call_id"] and c.ended_at for c in _calls(data)), 120,
                       "the call's ticket", failed=service.died)
        store = _store(data)
        assert all(c.ticket_number for c in listed_calls(store)) and len(listed_calls(store)) == 2
        store.close()
        wait_until(lambda: not list((data / "journal").glob("*.jsonl")), 120, "the bad line set aside",
                   failed=service.died)
        assert "journal: malformed line kept aside" in service.log() and "poison@x op add_turn" in service.log()
        assert "Traceback" not in service.log()
    finally:
        assert service.stop() == 0, service.log()[-3000:]
    (data / "journal" / "again.jsonl").write_text(POISON.replace("poison@x", "again@x") + "\n", encoding="utf-8")
    command = subprocess.run([sys.executable, "-m", "callbot", "tickets", "replay-journal"], cwd=REPO, text=True,
                             capture_output=True, env={**os.environ, "CALLBOT_DATA_DIR": str(data)}, timeout=120)
    assert command.returncode == 0, command.stdout + command.stderr
    assert "bad journal line kept aside" in command.stdout and "call again@x op add_turn" in command.stdout
    assert "2 malformed journal line(s) kept" in command.stdout and "Traceback" not in command.stderr


# --- PostgreSQL shared by several workers ------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.sip
def test_postgres_back_with_no_new_calls_the_journaled_ticket_reaches_it_within_10_s(
        tmp_path: Path, postgres_server) -> None:
    data, url = tmp_path / "data", postgres_server.create_database()
    env = {"CALLBOT_DATABASE_URL": url, "CALLBOT_WORKER_ID": "pg-worker"}
    service = start_service(data, env)
    http_port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "callbot", "serve", "--no-sip", "--port", str(http_port)],
                           cwd=REPO, env={**os.environ, "CALLBOT_DATA_DIR": str(data), **env},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    health_url = f"http://127.0.0.1:{http_port}/healthz"
    try:
        wait_for_http(health_url, api, timeout=60, output=lambda: "")
        postgres_server.stop()
        try:
            report = run_peer(tmp_path / "r.json", "--target", service.uri, "--step", "until_speech:20",
                              "--step", "hangup")
            assert report["connected"], report
            wait_until(lambda: "file_ticket" in "".join(p.read_text() for p in (data / "journal").glob("*.jsonl")),
                       120, "the ticket journaled", failed=service.died)
            down = httpx.get(health_url, timeout=10).json()
            assert down["database"] == "unreachable" and down["journal_pending"] == 1, down
        finally:
            postgres_server.start()
        back = time.monotonic()
        wait_until(lambda: httpx.get(health_url, timeout=10).json() == {"status": "ok", "database": "ok",
                                                                       "journal_pending": 0},
                   10, "the journal replayed", failed=service.died)
        print(f"journal replayed {time.monotonic() - back:.2f} s after PostgreSQL answered again")
        [call] = _calls(data, url)
        assert call.ended_at is not None
        store = _store(data, url)
        _, detail = _ticket(store, call)
        assert detail.ticket.outcome == "partial" and detail.ticket.reason is None
        store.close()
    finally:
        api.terminate()
        api.wait(30)
        assert service.stop() == 0, service.log()[-3000:]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.sip
def test_a_worker_never_recovers_another_worker_s_live_call(tmp_path: Path, postgres_server,
                                                            callers: list[subprocess.Popen]) -> None:
    url = postgres_server.create_database()
    worker_a = start_service(tmp_path / "a", {"CALLBOT_DATABASE_URL": url, "CALLBOT_WORKER_ID": "a", **PATIENT})
    try:
        callers.append(start_peer(tmp_path / "c.json", "--target", worker_a.uri,
                                  *[a for s in [*HOLD, "hold:300"] for a in ("--step", s)]))
        wait_until(lambda: _calls(tmp_path / "a", url), 120, "the call on worker a", failed=worker_a.died)
        # another worker starts on the same database (its recovery runs), and an operator runs the command
        worker_b = start_service(tmp_path / "b", {"CALLBOT_DATABASE_URL": url, "CALLBOT_WORKER_ID": "b"})
        assert worker_b.stop() == 0, worker_b.log()[-3000:]
        command = subprocess.run([sys.executable, "-m", "callbot", "tickets", "recover"], cwd=REPO, text=True,
                                 capture_output=True, timeout=120,
                                 env={**os.environ, "CALLBOT_DATA_DIR": str(tmp_path / "b"),
                                      "CALLBOT_DATABASE_URL": url})
        assert command.returncode == 0 and "1 live call(s) left alone" in command.stdout, command.stdout
        [call] = _calls(tmp_path / "a", url)
        assert call.ended_at is None and call.worker_id == "a"  # untouched: still live on worker a
        store = _store(tmp_path / "a", url)
        assert listed_calls(store)[0].ticket_number is None
    finally:
        assert worker_a.stop() == 0, worker_a.log()[-3000:]  # its owner winds it up and files it
    _, detail = _ticket(store, call)
    assert detail.ticket.reason is None and detail.ticket.outcome == "partial"  # filed by its own worker
    store.close()
