"""The node under attack and under a surge, for real: `callbot serve` runs the Kamailio edge in front of two
supervised pjsua2 workers (record-only), callers are sipp, pjsua2 peers and a raw UDP user agent."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbot.types import OperatorStatus
from tests.support import REPO
from tests.support.node import NodeProcess, responses_to_invite, sipp, start_node
from tests.support.ports import free_sip_port, udp_port_taken
from tests.support.raw_sip import RawSipCaller, send_in_dialog
from tests.support.sip import run_peer, start_peer
from tests.support.stores import read_ticket, set_operator
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.sip]

SCENARIO = str(REPO / "sip" / "uac_via_edge.xml")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    node = start_node(tmp_path_factory.mktemp("node") / "data", {"CALLBOT_WORKERS": "2"})
    yield node
    assert node.stop() == 0, node.log()[-3000:]
    unfiled = [call.call_id for call in node.calls()
               if not call.ticket_number or call.ended_at is None]
    assert not unfiled, f"calls without a ticket after the node stopped: {unfiled}"


def ticketed(node: NodeProcess, call_ids: set[str], timeout: float = 30.0) -> dict[str, str]:
    """call id -> ticket number, once every one of ``call_ids`` has ended and filed (fails after ``timeout``)."""
    def done() -> dict[str, str] | None:
        calls = {call.call_id: call for call in node.calls() if call.call_id in call_ids}
        finished = {cid: call.ticket_number for cid, call in calls.items() if call.ticket_number and call.ended_at}
        return finished if len(finished) == len(call_ids) else None

    return wait_until(done, timeout, f"tickets for {len(call_ids)} calls")  # type: ignore[return-value]


def idle(node: NodeProcess) -> None:
    wait_until(lambda: all(s.active_calls == 0 for s in node.statuses().values()), 30, "every worker idle")


def test_the_banner_states_the_capacity_and_metrics_list_the_workers(node: NodeProcess) -> None:
    statuses = node.statuses()
    assert len(statuses) == 2 and {s.call_limit for s in statuses.values()} == {4}  # read from the binding
    assert node.capacity() == 8 and "2 worker(s) x 4 calls" in node.log()
    # no Vietnamese model here: the node says so in its own banner, as every worker reports it
    assert "RECORD-ONLY MODE for locale 'vi'" in node.log() and all(s.record_only for s in statuses.values())
    for worker_id in statuses:
        assert worker_id.endswith(("-w1", "-w2"))
        assert node.metric("callbot_node_worker_up", worker=worker_id) == 1
        assert node.metric("callbot_node_worker_call_limit", worker=worker_id) == 4
    assert set(node.dispatcher_flags().values()) == {"AP"}  # both workers active and probed by the edge


def test_untrusted_flood_is_refused_at_the_edge_and_a_trusted_call_still_files_its_ticket(
    node: NodeProcess, tmp_path: Path
) -> None:
    pids = {worker_id: status.pid for worker_id, status in node.statuses().items()}
    flood = sipp("-sn", "uac", f"127.0.0.1:{node.sip_port}", "-s", "hotline", "-i", "127.0.0.2", "-p", "0",
                 "-r", "300", "-m", "3000", "-recv_timeout", "2000", "-timeout", "60", cwd=tmp_path, timeout=120)
    assert "Successful call" in flood.stdout and node.alive()
    assert node.metric("callbot_node_calls_rejected_total", reason="untrusted") > 0
    assert node.metric("callbot_node_calls_rejected_total", reason="flood") > 1000  # pike dropped the rest
    report = run_peer(tmp_path / "c.json", "--target", node.sip_uri, "--step", "until_speech:10", "--step", "hangup")
    assert report["connected"] and report["heard_audio_s"] > 0, report
    ticketed(node, {report["call_id"]})
    assert {worker_id: status.pid for worker_id, status in node.statuses().items()} == pids  # no worker restarted
    assert all(node.metric("callbot_node_worker_restarts_total", worker=worker_id) == 0 for worker_id in pids)


def test_a_caller_over_tcp_reaches_a_worker_over_udp(node: NodeProcess, tmp_path: Path) -> None:
    report = run_peer(tmp_path / "c.json", "--tcp", "--target", f"{node.sip_uri};transport=tcp",
                      "--step", "until_speech:10", "--step", "hangup")
    assert report["connected"] and report["heard_audio_s"] > 0, report  # its BYE crossed back to UDP too
    ticketed(node, {report["call_id"]})


def test_a_surge_of_three_times_capacity_is_answered_up_to_capacity_and_refused_with_503(
    node: NodeProcess, tmp_path: Path
) -> None:
    idle(node)
    offered = 3 * node.capacity()
    surge = sipp("-sf", SCENARIO, f"127.0.0.1:{node.sip_port}", "-s", "hotline", "-i", "127.0.0.1", "-p", "0",
                 "-r", "1000", "-m", str(offered), "-l", str(offered), "-d", "6000", "-recv_timeout", "20000",
                 "-timeout", "60", "-trace_msg", "-message_file", str(tmp_path / "messages.log"), cwd=tmp_path)
    assert surge.returncode == 0, surge.stdout[-2000:]
    log = (tmp_path / "messages.log").read_text(errors="replace")
    answers = responses_to_invite(tmp_path / "messages.log")
    codes = list(answers.values())
    assert len(codes) == offered
    assert codes.count(200) == node.capacity() and codes.count(503) == offered - node.capacity(), codes
    assert log.count("Retry-After: 30") >= offered - node.capacity()  # the edge says when to try again
    answered = {call_id for call_id, code in answers.items() if code == 200}
    tickets = ticketed(node, answered)
    assert len(set(tickets.values())) == len(answered)  # exactly one ticket per answered call
    refused = {call_id for call_id, code in answers.items() if code == 503}
    assert not refused & {call.call_id for call in node.calls()}  # a refused call is not a call


def test_in_dialog_requests_from_an_untrusted_address_are_refused_and_the_call_goes_on(node: NodeProcess) -> None:
    idle(node)
    caller = RawSipCaller("127.0.0.1")
    lure = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # where a REFER would make the bot dial
    lure.bind(("127.0.0.5", 0))
    lure.settimeout(3)
    try:
        dialog = caller.invite("127.0.0.1", node.sip_port)
        assert dialog.refused_status is None, dialog
        worker_host, worker_port = dialog.remote_target.split("@")[-1].split(";")[0].rsplit(":", 1)
        refer_to = f"Refer-To: <sip:attacker@127.0.0.5:{lure.getsockname()[1]}>\r\n"
        sdp = "v=0\r\no=x 1 2 IN IP4 127.0.0.5\r\ns=-\r\nc=IN IP4 127.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
        attacks = [("REFER", refer_to, "", None), ("INFO", "", "Signal=0\r\nDuration=160\r\n", "application/dtmf-relay"),
                   ("INVITE", "", sdp, "application/sdp"), ("BYE", "", "", None)]
        for target in (("127.0.0.1", node.sip_port), (worker_host, int(worker_port))):  # the edge, then the worker
            for method, headers, body, content_type in attacks:
                status = send_in_dialog(dialog, method, source_host="127.0.0.6", to=target, headers=headers, body=body,
                                        content_type=content_type)
                assert status == 403, (method, target, status)
        with pytest.raises(TimeoutError):
            lure.recvfrom(65535)  # the bot dialled nobody
        assert caller.request(dialog, "BYE") == 200  # the call was still up: our own BYE ends it
    finally:
        caller.close()
        lure.close()
    ticket_number = ticketed(node, {dialog.call_id})[dialog.call_id]
    store = node.store()
    try:
        detail = read_ticket(store, ticket_number)
    finally:
        store.close()
    assert detail.ticket.escalation is None and not [t for t in detail.turns if t.kind == "dtmf"]  # no forged "0"
    assert node.metric("callbot_node_calls_rejected_total", reason="untrusted") >= 4


def test_the_bot_s_own_refer_crosses_the_edge_to_the_operator(node: NodeProcess, tmp_path: Path) -> None:
    idle(node)
    operator_port = free_sip_port()
    operator = start_peer(tmp_path / "op.json", "--answer", "--port", str(operator_port), "--user", "op",
                          "--duration", "30")
    store = node.store()
    try:
        wait_until(lambda: udp_port_taken("127.0.0.1", operator_port), 10, "the operator listening")
        set_operator(store, uri=f"sip:op@127.0.0.1:{operator_port}", status=OperatorStatus.available)
        report = run_peer(tmp_path / "c.json", "--target", node.sip_uri, "--step", "until_speech:10",
                          "--step", "dtmf:0", "--step", "hold:12")
    finally:
        set_operator(store, uri=f"sip:op@127.0.0.1:{operator_port}", status=OperatorStatus.offline)
        store.close()
        operator.wait(60)
    assert report["refer_to"] and f"op@127.0.0.1:{operator_port}" in report["refer_to"], report
    reached = json.loads((tmp_path / "op.json").read_text())
    assert reached["connected"] and reached["invite_headers"].get("X-Callbot-Ticket"), reached


def test_a_worker_killed_mid_call_is_restarted_and_answers_again(node: NodeProcess, tmp_path: Path) -> None:
    idle(node)
    holder = start_peer(tmp_path / "hold.json", "--target", node.sip_uri, "--step", "until_speech:10",
                        "--step", "hold:40")
    try:
        busy = wait_until(lambda: next((s for s in node.statuses().values() if s.active_calls == 1), None), 20,
                          "a worker carrying the call")
        uri = f"sip:{busy.sip}"
        killed = {call.call_id for call in node.calls() if call.ended_at is None}
        os.kill(busy.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: node.dispatcher_flags().get(uri, "").startswith("I"), 3, "the edge skipping it")
        report = run_peer(tmp_path / "c1.json", "--target", node.sip_uri, "--step", "until_speech:10",
                          "--step", "hangup")
        assert report["connected"] and report["heard_audio_s"] > 0, report  # the other worker answered at once
        restarted = wait_until(lambda: (s := node.statuses()[busy.worker_id]).pid != busy.pid
                               and s.state == "running" and s, 10, "the worker restarted")
        wait_until(lambda: node.dispatcher_flags().get(uri) == "AP", 10, "the edge using it again")
        assert time.monotonic() - killed_at < 10
        assert restarted.worker_id == busy.worker_id and restarted.sip == busy.sip  # same id, same address
        assert killed and ticketed(node, killed)  # the restarted worker filed its predecessor's call (recovery)
        # two calls at once: the least-loaded dispatch gives the restarted worker one of them
        first = start_peer(tmp_path / "c2.json", "--target", node.sip_uri, "--step", "until_speech:10",
                           "--step", "hold:2", "--step", "hangup")
        second = run_peer(tmp_path / "c3.json", "--target", node.sip_uri, "--step", "until_speech:10",
                          "--step", "hangup")
        first.wait(60)
        assert second["connected"] and json.loads((tmp_path / "c2.json").read_text())["connected"]
        assert wait_until(lambda: node.statuses()[busy.worker_id].answered >= 1, 10, "the restarted worker answering")
    finally:
        holder.kill()
        holder.wait()
    assert node.metric("callbot_node_worker_restarts_total", worker=busy.worker_id) == 1
    assert "restarting it" in node.log() or busy.worker_id in node.log()


def test_sigterm_drains_the_node_live_calls_file_their_tickets(tmp_path: Path) -> None:
    node = start_node(tmp_path / "data", {"CALLBOT_WORKERS": "1"})
    caller = start_peer(tmp_path / "c.json", "--target", node.sip_uri, "--step", "until_speech:10", "--step", "hold:60")
    try:
        wait_until(lambda: any(s.active_calls for s in node.statuses().values()), 20, "the call up")
        node.process.send_signal(signal.SIGTERM)
        wait_until(lambda: (flags := node.dispatcher_flags()) and all(f.startswith("D") for f in flags.values()), 20,
                   "the edge disabling every worker")
        late = RawSipCaller("127.0.0.1")
        try:
            refused = late.invite("127.0.0.1", node.sip_port)
        finally:
            late.close()
        assert refused.refused_status == 503  # the edge dispatches no more
        assert node.process.wait(90) == 0, node.log()[-3000:]
    finally:
        caller.wait(60)
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["connected"] and report["error"] is None, report  # the bot hung up, long before 60 s
    assert all(call.ticket_number and call.ended_at for call in node.calls()), node.calls()
    assert not (node.data_dir / "node" / "edge" / "kamailio_ctl").exists()  # Kamailio is gone too
