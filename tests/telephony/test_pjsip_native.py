"""One bot worker (`callbot worker`: UDP only, trusting the edge's address) hit straight by floods, no edge in
front: it stays up, refuses what it cannot answer before allocating media, and every call it answered leaves
exactly one ticket (issue 11: calls ended right after the 200 OK used to lose theirs)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbot.telephony.pjsip_native import call_id_of
from tests.support.node import responses_to_invite, sipp
from tests.support.raw_sip import RawSipCaller, send_in_dialog
from tests.support.sip import ServiceProcess, calls_of, run_peer, start_service, ticket_of
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.sip]


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_service(tmp_path_factory.mktemp("worker") / "data",
                            {"CALLBOT_TRUSTED_PEERS": '["127.0.0.1"]', "CALLBOT_WORKER_ID": "flood-w1"},
                            command=[sys.executable, "-m", "callbot", "worker"])
    yield service
    assert service.stop() == 0, service.log()[-3000:]


def answered_calls(message_log: Path) -> set[str]:
    return {call_id for call_id, code in responses_to_invite(message_log).items() if code == 200}


def test_a_trusted_flood_straight_at_a_worker_leaves_it_up_and_answering(worker: ServiceProcess, tmp_path: Path) -> None:
    flood = sipp("-sn", "uac", f"127.0.0.1:{worker.port}", "-s", "bot", "-i", "127.0.0.1", "-p", "0", "-r", "300",
                 "-m", "1000", "-d", "2000", "-recv_timeout", "5000", "-timeout", "90",
                 "-trace_msg", "-message_file", str(tmp_path / "messages.log"), cwd=tmp_path, timeout=150)
    assert worker.alive(), worker.log()[-3000:]
    answers = responses_to_invite(tmp_path / "messages.log")
    assert 200 in answers.values() and {486, 503} & set(answers.values()), flood.stdout[-1500:]
    assert "Assertion" not in worker.log()
    report = run_peer(tmp_path / "c.json", "--target", worker.uri, "--step", "until_speech:10", "--step", "hangup")
    assert report["connected"] and report["heard_audio_s"] > 0, report
    assert ticket_of(worker, report["call_id"]) is not None
    for call_id in answered_calls(tmp_path / "messages.log"):
        assert ticket_of(worker, call_id) is not None, call_id


def test_a_flood_ending_calls_right_after_the_200_ok_leaves_one_ticket_per_answered_call(
    worker: ServiceProcess, tmp_path: Path
) -> None:
    before = {call.call_id for call in calls_of(worker)}
    sipp("-sn", "uac", f"127.0.0.1:{worker.port}", "-s", "bot", "-i", "127.0.0.1", "-p", "0", "-r", "300",
         "-m", "600", "-d", "0", "-recv_timeout", "5000", "-timeout", "90",
         "-trace_msg", "-message_file", str(tmp_path / "messages.log"), cwd=tmp_path, timeout=150)
    assert worker.alive(), worker.log()[-3000:]
    answers = responses_to_invite(tmp_path / "messages.log")
    answered = {call_id for call_id, code in answers.items() if code == 200}
    assert len(answered) >= 8 and len(answered) < len(answers), answers  # answered and refused interleaved

    def all_filed() -> bool:
        calls = [call for call in calls_of(worker) if call.call_id not in before]
        return len(calls) == len(answered) and all(call.ticket_number and call.ended_at for call in calls)

    wait_until(all_filed, 60, "a ticket for every answered call")
    calls = [call for call in calls_of(worker) if call.call_id not in before]
    assert {call.call_id for call in calls} == answered  # refused INVITEs made no call
    assert len({call.ticket_number for call in calls}) == len(answered)  # exactly one ticket each


def test_the_caller_s_number_reaches_the_ticket_but_never_the_log(worker: ServiceProcess, tmp_path: Path) -> None:
    report = run_peer(tmp_path / "c.json", "--user", "0912345678", "--target", worker.uri,
                      "--step", "until_speech:10", "--step", "hangup")
    assert report["connected"], report
    ticket = ticket_of(worker, report["call_id"])
    assert ticket is not None and ticket.ticket.caller_id == "0912345678"
    assert report["call_id"] in worker.log() and "0912345678" not in worker.log()  # call ids only


def test_a_refer_from_a_trusted_peer_is_refused_by_the_worker_itself(worker: ServiceProcess) -> None:
    """The edge refuses the caller side's REFERs; pjsua2's onCallTransferRequest refuses any that still arrive."""
    caller = RawSipCaller("127.0.0.1")
    lure = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    lure.bind(("127.0.0.1", 0))
    lure.settimeout(3)
    try:
        dialog = caller.invite("127.0.0.1", worker.port)
        assert dialog.refused_status is None, dialog
        refer_to = f"Refer-To: <sip:attacker@127.0.0.1:{lure.getsockname()[1]}>\r\n"
        assert send_in_dialog(dialog, "REFER", source_host="127.0.0.1", to=("127.0.0.1", worker.port),
                              headers=refer_to) == 403
        with pytest.raises(TimeoutError):
            lure.recvfrom(65535)  # nobody dialled
        dialog.cseq += 100  # the REFER reached the dialog (its CSeq counts): our BYE must come after it
        assert caller.request(dialog, "BYE") == 200
    finally:
        caller.close()
        lure.close()
    assert ticket_of(worker, dialog.call_id) is not None


def test_the_call_id_is_read_from_a_raw_invite_in_either_header_form() -> None:
    invite = (b"INVITE sip:bot@127.0.0.1 SIP/2.0\r\nFrom: <sip:0912345678@pbx>;tag=1\r\n"
              b"Call-ID: abc123@pbx\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\ni=Call-ID: not-a-header\r\n")
    assert call_id_of(invite) == "abc123@pbx"
    assert call_id_of(b"INVITE sip:x SIP/2.0\r\ni: compact-1\r\n\r\n") == "compact-1"
    assert call_id_of(b"INVITE sip:x SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n") == ""
