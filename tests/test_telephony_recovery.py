"""Nothing lost, over real SIP: the service (``python -m callbot.service``) is killed with -9 in the middle of
calls and restarted; a poisoned journal line blocks nothing; PostgreSQL stops and comes back with no new call;
a worker never recovers another worker's live call. Callers are real pjsua2 peers (tests/sip_caller.py); the
state of each call is read from the store (what was written ahead), never guessed with sleeps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from callbot.config import Settings
from callbot.store import Store, open_store
from callbot.store.models import Call

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import espeak_wav
from postgres import free_port
from processes import wait_for_http
from sip_caller import REPO, ServiceProcess, run_peer, start_peer, start_service
from store_fixtures import listed_calls, read_ticket, recording_of
from test_telephony_scripted import ANSWERS

pytestmark = pytest.mark.slow

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


def _wait_for(condition: Callable[[], object], what: str, timeout: float = 120.0,
              alive: ServiceProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if alive is not None:
            assert alive.alive(), f"the service died waiting for {what}:\n{alive.log()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}" + (
            f":\n{alive.log()[-3000:]}" if alive else "")
        time.sleep(0.2)


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
            args = ["--target", service.uri, *[a for s in [*HOLD, *steps, "wait:300"] for a in ("--step", s)]]
            callers.append(start_peer(tmp_path / f"caller-{stage}.json", *args))

        def stages() -> list[int]:
            return sorted(len(call.clips or []) for call in _calls(data))

        # mid-name: asked its name; mid-address: the name's clip written ahead; mid-need: both clips
        _wait_for(lambda: stages() == [0, 1, 2], "three calls at three stages", alive=service)
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


def test_slot_values_captured_as_text_survive_a_kill_9(tmp_path: Path, espeak: str,
                                                        callers: list[subprocess.Popen]) -> None:
    """With a recognizer that produces text (the scripted one of tests/test_telephony_scripted.py: what is
    proven here is the write-ahead and recovery, not ASR), the name and address captured before the kill are
    on the recovered ticket."""
    data = tmp_path / "data"
    env = {"CALLBOT_WORKER_ID": "sip-worker-2", **PATIENT}
    wavs = {slot: espeak_wav(tmp_path / f"{slot}.wav", text, "vi", rate=8000) for slot, text in ANSWERS.items()}
    scripted = [sys.executable, str(Path(__file__).resolve().parent / "test_telephony_scripted.py"),
                json.dumps(list(ANSWERS.values()))]
    service = start_service(data, env, command=scripted)
    try:
        steps = [*HOLD, f"play:{wavs['name']}", "until_quiet:0.8", f"play:{wavs['address']}", "until_quiet:0.8",
                 "wait:300"]
        callers.append(start_peer(tmp_path / "c.json", "--target", service.uri,
                                  *[a for s in steps for a in ("--step", s)]))

        def captured() -> dict:
            calls = _calls(data)
            return (calls[0].draft or {}) if calls else {}

        _wait_for(lambda: captured().get("ward_name"), "the address written ahead", alive=service)
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


def test_a_poisoned_journal_line_blocks_no_call(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = start_service(data)
    try:
        (data / "journal" / "poisoned.jsonl").write_text(POISON + "\n", encoding="utf-8")  # appears mid-service
        for index in range(2):
            report = run_peer(tmp_path / f"r{index}.json", "--target", service.uri, "--step", "until_speech:20",
                              "--step", "hangup")
            assert report["connected"], report
            _wait_for(lambda: any(c.call_id == report["call_id"] and c.ended_at for c in _calls(data)),
                      "the call's ticket", alive=service)
        store = _store(data)
        assert all(c.ticket_number for c in listed_calls(store)) and len(listed_calls(store)) == 2
        store.close()
        _wait_for(lambda: not list((data / "journal").glob("*.jsonl")), "the bad line set aside", alive=service)
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
@pytest.mark.postgres
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
            _wait_for(lambda: "file_ticket" in "".join(p.read_text() for p in (data / "journal").glob("*.jsonl")),
                      "the ticket journaled", alive=service)
            down = httpx.get(health_url, timeout=10).json()
            assert down["database"] == "unreachable" and down["journal_pending"] == 1, down
        finally:
            postgres_server.start()
        back = time.monotonic()
        _wait_for(lambda: httpx.get(health_url, timeout=10).json() == {"status": "ok", "database": "ok",
                                                                       "journal_pending": 0},
                  "the journal replayed", timeout=10, alive=service)
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


@pytest.mark.postgres
def test_a_worker_never_recovers_another_worker_s_live_call(tmp_path: Path, postgres_server,
                                                            callers: list[subprocess.Popen]) -> None:
    url = postgres_server.create_database()
    worker_a = start_service(tmp_path / "a", {"CALLBOT_DATABASE_URL": url, "CALLBOT_WORKER_ID": "a", **PATIENT})
    try:
        callers.append(start_peer(tmp_path / "c.json", "--target", worker_a.uri,
                                  *[a for s in [*HOLD, "wait:300"] for a in ("--step", s)]))
        _wait_for(lambda: _calls(tmp_path / "a", url), "the call on worker a", alive=worker_a)
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
