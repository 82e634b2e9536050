"""The node's workers run started campaigns: a bot worker (``python -m callbot.service``) with
``CALLBOT_OUTBOUND_PROXY`` dials a campaign started from the command line, through a real Kamailio PBX to sipp
callees, while it still answers an inbound call (inbound first: one call slot is kept for it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.callees import start_callees
from tests.support.commands import callbot, report_of
from tests.support.sip import run_peer, start_service, ticket_of
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.sip]

NUMBERS = {"0912000011": "confirm", "0912000012": "confirm", "0912000013": "busy", "0912000014": "confirm"}


def test_a_worker_dials_a_started_campaign_and_still_answers_inbound(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    callees = start_callees(tmp_path / "callees", NUMBERS)
    data = tmp_path / "data"
    monkeypatch.setenv("CALLBOT_DATA_DIR", str(data))  # the CLI below and the worker share the store
    (tmp_path / "contacts.csv").write_text("".join(f"{n}\n" for n in NUMBERS))
    try:
        made = callbot("campaign", "create", "notice", "--message", "Thông báo lịch tiêm chủng.", "--contacts",
                       tmp_path / "contacts.csv", "--window", "00:00-24:00", "--days", "mon-sun",
                       "--max-attempts", "1", "--concurrency", "4", "--cps", "5")
        assert made.returncode == 0, made.stdout + made.stderr
        assert callbot("campaign", "start", "notice").returncode == 0
        worker = start_service(data, {"CALLBOT_TRUSTED_PEERS": '["127.0.0.1"]',
                                      "CALLBOT_OVERFLOW_MODE": "overflow-target",
                                      "CALLBOT_OUTBOUND_PROXY": callees.pbx.uri})
        try:
            inbound = run_peer(tmp_path / "in.json", "--target", worker.uri, "--step", "until_speech:15",
                               "--step", "hold:2", "--step", "hangup")
            assert inbound["connected"], inbound
            assert ticket_of(worker, inbound["call_id"]) is not None
            def finished() -> dict | None:
                found = report_of(callbot("campaign", "report", "notice", "--json"))
                return found if found["state"] == "finished" else None

            report = wait_until(finished, 120, "the campaign finished", interval=0.5, failed=worker.died)
        finally:
            assert worker.stop() == 0, worker.log()[-3000:]
        statuses = {c["number"]: c["status"] for c in report["contacts"]}
        assert statuses == {"+84912000011": "confirmed", "+84912000012": "confirmed", "+84912000013": "busy",
                            "+84912000014": "confirmed"}, report
        assert sum(callees.pbx.invites().values()) == 4
    finally:
        callees.stop()
