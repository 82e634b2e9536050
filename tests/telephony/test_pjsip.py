"""Real SIP on loopback: the service (``python -m callbot.service``) and each peer run in their own process
(pjsua2 allows one Endpoint per process); tickets are read back from the service's SQLite store.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile

from callbot.audio import read_wav, rms_dbfs
from callbot.telephony.pjsip import caller_id_of, with_uri_headers
from tests.support import REPO
from tests.support.sip import (
    ServiceProcess,
    all_tickets,
    calls_of,
    recording_of,
    run_peer,
    start_peer,
    start_service,
    ticket_of,
)
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One service for the module: overflow-target, one call at a time, loopback only."""
    service = start_service(
        tmp_path_factory.mktemp("bot") / "data",
        {"CALLBOT_MAX_CALLS": "1", "CALLBOT_TRUSTED_PEERS": '["127.0.0.1"]', "CALLBOT_OVERFLOW_MODE": "overflow-target"},
    )
    yield service
    assert service.stop() == 0, service.log()[-3000:]
    unfiled = [call.call_id for call in calls_of(service) if not call.ticket_number or call.ended_at is None]
    assert not unfiled, f"calls without a ticket after shutdown: {unfiled}"  # no test may lose a ticket


@pytest.mark.slow
@pytest.mark.sip
def test_bot_answers_speaks_and_files_a_ticket_with_a_stereo_recording(bot: ServiceProcess, tmp_path: Path) -> None:
    heard = tmp_path / "heard.wav"
    report = run_peer(
        tmp_path / "r.json", "--target", bot.uri, "--step", "until_speech:10", "--step", "hold:2",
        "--step", "hangup", "--record", str(heard),
    )
    assert report["error"] is None and report["connected"], report
    assert report["heard_audio_s"] >= 1.0, report  # the greeting, not silence
    assert rms_dbfs(read_wav(heard).pcm) > -45.0
    ticket = ticket_of(bot, report["call_id"])
    assert ticket is not None, bot.log()[-3000:]
    assert ticket.ticket.outcome == "partial"
    recording = recording_of(bot, report["call_id"])
    assert recording is not None and recording.exists()
    info = soundfile.info(str(recording))
    assert info.channels == 2 and info.samplerate == 8000 and info.duration >= 2.0


@pytest.mark.slow
@pytest.mark.sip
def test_caller_hanging_up_mid_prompt_leaves_a_partial_ticket(bot: ServiceProcess, tmp_path: Path) -> None:
    report = run_peer(tmp_path / "r.json", "--target", bot.uri, "--step", "hold:0.7", "--step", "hangup")
    assert report["connected"], report
    ticket = ticket_of(bot, report["call_id"])
    assert ticket is not None and ticket.ticket.outcome == "partial", bot.log()[-3000:]


@pytest.mark.slow
@pytest.mark.sip
def test_dtmf_by_rfc2833_and_sip_info_reaches_the_call(bot: ServiceProcess, tmp_path: Path) -> None:
    report = run_peer(
        tmp_path / "r.json", "--target", bot.uri, "--step", "until_speech:10", "--step", "dtmf:4",
        "--step", "hold:1", "--step", "info:7", "--step", "hold:1.5", "--step", "hangup",
    )
    assert report["dtmf_sent"] == "47"
    ticket = ticket_of(bot, report["call_id"])
    assert ticket is not None
    dtmf_turns = [turn.text for turn in ticket.turns if turn.kind == "dtmf"]
    assert dtmf_turns == ["4", "7"], ticket.turns


@pytest.mark.slow
@pytest.mark.sip
def test_untrusted_source_is_refused_with_403(bot: ServiceProcess, tmp_path: Path) -> None:
    before = all_tickets(bot)
    report = run_peer(tmp_path / "r.json", "--bind", "127.0.0.2", "--target", bot.uri, "--step", "hold:1")
    assert report["final_status"] == 403 and not report["connected"], report
    assert all_tickets(bot) == before  # a refused INVITE is not a call
    assert bot.alive()


@pytest.mark.slow
@pytest.mark.sip
def test_malformed_sip_is_ignored_and_the_next_call_works(bot: ServiceProcess, tmp_path: Path) -> None:
    garbage = [
        b"\x00\xff\x13garbage" * 100,
        b"INVITE sip:bot@127.0.0.1 SIP/2.0\r\nVia: broken\r\nContent-Length: 99999\r\n\r\nv=0",
        b"INVITE  SIP/2.0\r\n\r\n",
        (
            f"INVITE sip:bot@127.0.0.1:{bot.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbad\r\n"
            "From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: broken-1\r\nCSeq: one INVITE\r\n"
            "Content-Type: application/sdp\r\nContent-Length: 12\r\n\r\nnot an sdp\r\n"
        ).encode(),
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for datagram in garbage:
            udp.sendto(datagram, ("127.0.0.1", bot.port))
    with socket.create_connection(("127.0.0.1", bot.port)) as tcp:
        tcp.sendall(b"\xde\xad\xbe\xef" * 4000 + b"\r\n\r\n")
    report = run_peer(tmp_path / "r.json", "--target", bot.uri, "--step", "until_speech:10", "--step", "hangup")
    assert bot.alive(), bot.log()[-3000:]  # the garbage went first: it was read and survived
    assert report["connected"] and report["heard_audio_s"] > 0, report
    assert ticket_of(bot, report["call_id"]) is not None


@pytest.mark.slow
@pytest.mark.sip
def test_call_over_the_limit_gets_486_and_the_first_call_keeps_its_ticket(bot: ServiceProcess, tmp_path: Path) -> None:
    calls_before = len(calls_of(bot))
    holder = start_peer(tmp_path / "holder.json", "--target", bot.uri, "--step", "hold:6", "--step", "hangup")
    try:
        wait_until(lambda: len(calls_of(bot)) > calls_before, 20, "the first call to be answered", failed=bot.died)
        report = run_peer(tmp_path / "r.json", "--target", bot.uri, "--step", "hold:1")
        assert report["final_status"] == 486 and not report["connected"], report
    finally:
        holder.wait(30)
    held = json.loads((tmp_path / "holder.json").read_text())
    assert held["connected"]
    assert ticket_of(bot, held["call_id"]) is not None
    assert bot.alive()


@pytest.mark.slow
@pytest.mark.sip
def test_sipp_standard_uac_scenario_completes_and_files_a_partial_ticket(bot: ServiceProcess, tmp_path: Path) -> None:
    before = all_tickets(bot)
    completed = subprocess.run(
        ["sipp", "-sn", "uac", f"127.0.0.1:{bot.port}", "-s", "bot", "-i", "127.0.0.1", "-p", "0", "-m", "1",
         "-d", "2000", "-timeout", "30", "-timeout_error", "-nostdin", "-trace_err", "-error_file", str(tmp_path / "err.log")],
        check=False, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    wait_until(lambda: all_tickets(bot) > before, 20, "the call's ticket")
    assert all_tickets(bot) == before + 1


@pytest.mark.slow
@pytest.mark.sip
def test_call_over_tcp(bot: ServiceProcess, tmp_path: Path) -> None:
    report = run_peer(
        tmp_path / "r.json", "--tcp", "--target", f"{bot.uri};transport=tcp", "--step", "until_speech:10",
        "--step", "hangup",
    )
    assert report["connected"] and report["heard_audio_s"] > 0, report
    assert ticket_of(bot, report["call_id"]) is not None


@pytest.mark.slow
@pytest.mark.sip
def test_sipp_scenario_with_speech_and_rfc2833_dtmf(bot: ServiceProcess, tmp_path: Path) -> None:
    """sip/uac_speech_dtmf.xml: PCMA + telephone-event offer, sipp's G.711 recording as speech, '*' by RFC 2833."""
    completed = subprocess.run(
        ["sipp", "-sf", str(REPO / "sip" / "uac_speech_dtmf.xml"),
         f"127.0.0.1:{bot.port}", "-s", "bot", "-i", "127.0.0.1", "-p", "0", "-m", "1", "-nostdin",
         "-timeout", "45", "-timeout_error"],
        check=False, capture_output=True, text=True, timeout=90, cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    newest = max(calls_of(bot), key=lambda call: call.started_at)
    detail = ticket_of(bot, newest.call_id)
    assert detail is not None and detail.ticket.outcome == "partial"
    kinds = [(turn.kind, turn.text) for turn in detail.turns if turn.speaker == "caller"]
    assert ("dtmf", "*") in kinds and any(kind == "speech" for kind, _ in kinds), kinds


@pytest.mark.slow
@pytest.mark.parametrize(("codec", "name"), [("PCMU/8000/1", "PCMU"), ("PCMA/8000/1", "PCMA"), ("G722/16000/1", "G722")])
@pytest.mark.sip
def test_each_offered_codec_carries_the_bot_s_voice(bot: ServiceProcess, tmp_path: Path, codec: str, name: str) -> None:
    report = run_peer(tmp_path / "r.json", "--codec", codec, "--target", bot.uri, "--step", "until_speech:10",
                      "--step", "hold:1", "--step", "hangup")
    assert report["connected"] and report["codec"] == name and report["heard_audio_s"] > 0.5, report


@pytest.mark.slow
@pytest.mark.sip
def test_back_to_back_short_calls_reuse_one_bridge_port(bot: ServiceProcess, tmp_path: Path) -> None:
    # Calls that end within a few frames of the answer used to free their port while pjmedia's clock thread
    # could still call it (a callback on a half-destroyed port, then SIGSEGV); ports are now pooled.
    reports = [
        run_peer(tmp_path / f"short{n}.json", "--target", bot.uri, "--step", "until_speech:10", "--step", "hangup")
        for n in range(6)
    ]
    assert all(report["connected"] for report in reports), reports
    last = run_peer(tmp_path / "after.json", "--target", bot.uri, "--step", "until_speech:10", "--step", "hangup")
    assert last["connected"] and last["heard_audio_s"] > 0, last  # the reused port still carries the bot's voice
    for report in [*reports, last]:
        assert ticket_of(bot, report["call_id"]) is not None, report["call_id"]
    assert bot.alive()
    log = bot.log()  # this module's service takes one call at a time, so one port serves every call
    assert "bridge port 1 created" in log and "bridge port 2 created" not in log, log[-2000:]


# --- pure helpers -------------------------------------------------------------------------------------------
# Pure helpers of the pjsua2 endpoint module (no endpoint needed).
@pytest.mark.parametrize(
    ("remote_uri", "caller_id"),
    [
        ('"Ann" <sip:0912345678@pbx.example.org>', "0912345678"),
        ("<sip:0912345678@10.0.0.1:5060;transport=udp>", "0912345678"),
        ("sip:115@pbx", "115"),
        ("<sips:alice@example.org>", "alice"),
        ("<tel:+84912345678;phone-context=vn>", "+84912345678"),
        ("<sip:pbx.example.org>", None),
        ("<sip:0912;phone-context=x@pbx>", "0912"),
    ],
)
def test_caller_id_of(remote_uri: str, caller_id: str | None) -> None:
    assert caller_id_of(remote_uri) == caller_id


def test_with_uri_headers_puts_the_ticket_in_the_refer_to_uri() -> None:
    assert with_uri_headers("sip:op@pbx", {"X-Callbot-Ticket": "12345678"}) == "<sip:op@pbx?X-Callbot-Ticket=12345678>"
    assert with_uri_headers("<sip:op@pbx>", {}) == "<sip:op@pbx>"
    assert with_uri_headers("sip:op@pbx?A=1", {"B": "x y"}) == "<sip:op@pbx?A=1&B=x%20y>"
