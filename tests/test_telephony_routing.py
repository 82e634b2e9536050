"""Where calls go, over real SIP on loopback: front-door redirects to a free operator, escalation by REFER with
the ticket number, the call-duration limit, and graceful shutdown filing live calls' tickets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from callbot.config import Settings
from callbot.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from node_fixtures import wait_until
from processes import wait_for_http
from sip_caller import REPO, free_sip_port, run_peer, start_peer, start_service
from store_fixtures import listed_calls, set_operator
from test_telephony_sip import ticket_of

pytestmark = pytest.mark.slow


def operator(tmp_path: Path, seconds: float, name: str = "op") -> tuple[str, object, Path]:
    port = free_sip_port()
    report = tmp_path / f"{name}.json"
    process = start_peer(report, "--answer", "--port", str(port), "--user", name, "--duration", str(seconds))
    time.sleep(1.0)  # its transport is up
    return f"sip:{name}@127.0.0.1:{port}", process, report


def test_front_door_redirects_to_a_free_operator_and_answers_when_busy(tmp_path: Path) -> None:
    operator_uri, operator_process, operator_report = operator(tmp_path, 14)
    service = start_service(
        tmp_path / "data",
        {"CALLBOT_OVERFLOW_MODE": "front-door", "CALLBOT_OPERATOR_URIS": json.dumps([operator_uri])},
    )
    try:
        redirected = run_peer(tmp_path / "c1.json", "--target", service.uri, "--follow-redirect", "--step", "wait:1")
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


def test_pressing_0_transfers_to_the_operator_by_refer_carrying_the_ticket_number(tmp_path: Path) -> None:
    operator_uri, operator_process, operator_report = operator(tmp_path, 40)
    service = start_service(tmp_path / "data", {"CALLBOT_OPERATOR_URIS": json.dumps([operator_uri])})
    try:
        report = run_peer(
            tmp_path / "c.json", "--target", service.uri, "--step", "until_speech:10", "--step", "dtmf:0",
            "--step", "wait:25",
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


def test_maximum_call_duration_winds_the_call_up_with_a_ticket(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", {"CALLBOT_MAX_CALL_DURATION_S": "10"})
    try:
        started = time.monotonic()
        report = run_peer(tmp_path / "c.json", "--target", service.uri, "--step", "wait:40")
        assert report["connected"] and time.monotonic() - started < 35, report
        ticket = ticket_of(service, report["call_id"])
        assert ticket is not None and ticket.ticket.outcome == "partial"
    finally:
        assert service.stop() == 0, service.log()[-3000:]


def test_sigterm_during_a_call_files_its_ticket_and_exits_cleanly(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data")
    caller = start_peer(tmp_path / "c.json", "--target", service.uri, "--step", "until_speech:10", "--step", "wait:60")
    try:
        time.sleep(4)  # the greeting is playing
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


def test_callbot_serve_no_edge_runs_the_api_and_answers_calls_in_one_process(tmp_path: Path) -> None:
    sip_port, http_port = free_sip_port(), free_sip_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOT_")}
    env.update({
        "CALLBOT_DATA_DIR": str(tmp_path / "data"), "CALLBOT_PROMPTS_DIR": str(REPO / "prompts"),
        "CALLBOT_SIP_PORT": str(sip_port), "CALLBOT_HTTP_PORT": str(http_port),
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
        report = run_peer(tmp_path / "c.json", "--target", f"sip:bot@127.0.0.1:{sip_port}",
                          "--step", "until_speech:10", "--step", "hangup")
        assert report["connected"] and report["heard_audio_s"] > 0, report
        metrics = f"http://127.0.0.1:{http_port}/metrics"  # the process reports itself as the node's one worker
        wait_until(lambda: "callbot_node_calls_answered_total 1.0" in httpx.get(metrics, timeout=5).text, 10,
                   "the answered call in /metrics")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    assert server.returncode == 0, log_path.read_text()[-3000:]
    store = open_store(Settings(data_dir=tmp_path / "data"), migrate=False)
    try:
        assert any(c.call_id == report["call_id"] and c.ticket_number for c in listed_calls(store, limit=50))
    finally:
        store.close()


@pytest.mark.parametrize(("password", "registered"), [("s3cret", True), ("wrong", False)])
def test_registration_with_digest_authentication(tmp_path: Path, password: str, registered: bool) -> None:
    registrar_port = free_sip_port()
    registrar = subprocess.Popen(
        ["sipp", "-sf", str(REPO / "sip" / "registrar_digest_uas.xml"), "-i", "127.0.0.1", "-p", str(registrar_port),
         "-m", "1", "-key", "user", "callbot", "-key", "password", "s3cret", "-nostdin", "-timeout", "30",
         "-timeout_error"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    service = start_service(tmp_path / "data", {
        "CALLBOT_SIP_REGISTRAR": f"sip:127.0.0.1:{registrar_port}", "CALLBOT_SIP_USERNAME": "callbot",
        "CALLBOT_SIP_PASSWORD": password,
    })
    try:
        assert registrar.wait(40) == (0 if registered else 1)  # sipp verified the digest (or refused it)
        deadline = time.monotonic() + 10
        expected = "registration: 200" if registered else "registration: 403"
        while expected not in service.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert expected in service.log()
        assert password not in service.log()
    finally:
        assert service.stop() == 0, service.log()[-3000:]
