"""A campaign over real SIP: ``callbot campaign run`` (its own pjsua2 endpoint) calls sipp callees on loopback
through a real Kamailio proxy (the PBX): one confirms by an RFC 2833 key 1, one answers silent, one is an
answering machine with a 20 s spoken greeting, one is busy (486), one never answers. The report shows each one's
status and attempt count; the PBX's log shows each number was called exactly as often as the report says.
``kill -9`` of the run mid-campaign, then a second run: no contact is lost, no attempt is dialled twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO
from tests.support.callees import Callees, start_callees
from tests.support.commands import callbot, report_of
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.sip]

NUMBERS = {"0912000001": "confirm", "0912000002": "silent", "0912000003": "machine", "0912000004": "busy",
           "0912000005": "no_answer"}
E164 = {number: "+84" + number[1:] for number in NUMBERS}
# (status, attempts, last SIP code) per callee with --max-attempts 2
EXPECTED = {"confirm": ("confirmed", 1, 200), "silent": ("answered_no_confirm", 1, 200),
            "machine": ("machine", 1, 200), "busy": ("busy", 2, 486), "no_answer": ("no_answer", 2, 487)}


@pytest.fixture
def callees(tmp_path: Path) -> Iterator[Callees]:
    running = start_callees(tmp_path / "callees", NUMBERS)
    yield running
    running.stop()


def run_env(tmp_path: Path, callees: Callees) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOT_")}
    env.update({"CALLBOT_DATA_DIR": str(tmp_path / "data"), "CALLBOT_PROMPTS_DIR": str(REPO / "prompts"),
                "CALLBOT_OUTBOUND_PROXY": callees.pbx.uri, "CALLBOT_OUTBOUND_RING_TIMEOUT_S": "4",
                "CALLBOT_WORKER_ID": "campaign-test"})
    return env


def create_campaign(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, *extra: str) -> None:
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("".join(f"{number},Citizen {index}\n" for index, number in enumerate(NUMBERS)))
    for key, value in env.items():  # the CLI below reads the same data directory
        if key.startswith("CALLBOT_"):
            monkeypatch.setenv(key, value)
    made = callbot("campaign", "create", "notice", "--message", "Lịch tiêm chủng của bạn là thứ hai tuần sau.",
                   "--contacts", contacts, "--window", "00:00-24:00", "--days", "mon-sun", "--max-attempts", "2",
                   "--retry-after", "2", "--concurrency", "5", "--cps", "5", *extra)
    assert made.returncode == 0, made.stdout + made.stderr


def start_run(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("a") as output:
        return subprocess.Popen([sys.executable, "-m", "callbot", "campaign", "run", "notice"], cwd=REPO, env=env,
                                stdout=output, stderr=subprocess.STDOUT)


def report() -> dict:
    return report_of(callbot("campaign", "report", "notice", "--json"))


def check_outcomes(result: dict, callees: Callees) -> None:
    by_number = {contact["number"]: contact for contact in result["contacts"]}
    dialled = callees.pbx.invites()
    for number, kind in NUMBERS.items():
        contact = by_number[E164[number]]
        status, attempts, code = EXPECTED[kind]
        assert (contact["status"], contact["attempts"], contact["sip_code"]) == (status, attempts, code), \
            (kind, contact)
        assert dialled[number] == attempts, (kind, dialled)  # every attempt dialled once, none lost
    assert by_number[E164["0912000001"]]["dtmf"] == "1"
    assert result["state"] == "finished"
    assert result["counts"]["confirmed"] == 1 and result["counts"]["pending"] == 0


def run_to_the_end(env: dict[str, str], log: Path, timeout: float) -> None:
    """``callbot campaign run`` until every contact is final (exit 0)."""
    run = start_run(env, log)
    try:
        assert run.wait(timeout) == 0, log.read_text()[-4000:]
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


def test_campaign_over_real_sip_gives_each_callee_its_status(tmp_path: Path, callees: Callees,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    env = run_env(tmp_path, callees)
    create_campaign(tmp_path, env, monkeypatch)
    run_to_the_end(env, tmp_path / "run.log", 240)
    check_outcomes(report(), callees)
    csv_lines = callbot("campaign", "report", "notice", "--csv").stdout.splitlines()
    assert csv_lines[0] == "number,status,attempts,sip_code,dtmf,duration_s" and len(csv_lines) == 6


def test_kill_9_mid_campaign_neither_loses_nor_repeats_a_call(tmp_path: Path, callees: Callees,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    env = run_env(tmp_path, callees)
    create_campaign(tmp_path, env, monkeypatch)
    log = tmp_path / "run.log"
    first = start_run(env, log)
    try:
        wait_until(lambda: sum(callees.pbx.invites().values()) >= 3, 120, "three calls out (answered or ringing)",
                   failed=lambda: None if first.poll() is None else log.read_text()[-4000:])
        first.send_signal(signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait()
    at_kill = report()
    assert at_kill["state"] == "running" and at_kill["counts"]["pending"] > 0
    run_to_the_end(env, log, 300)
    result = report()
    dialled = callees.pbx.invites()
    by_number = {contact["number"]: contact for contact in result["contacts"]}
    for number, kind in NUMBERS.items():
        contact = by_number[E164[number]]
        # an attempt is committed before its INVITE leaves, so no attempt is ever dialled twice (dialled <=
        # attempts); the kill may land between the commit and the INVITE: that one attempt, settled as
        # failed-and-retried at the next run, is counted and never dialled
        assert contact["attempts"] - 1 <= dialled.get(number, 0) <= contact["attempts"], (kind, contact, dialled)
        assert dialled.get(number, 0) >= 1, (kind, contact, dialled)
        assert contact["status"] != "pending", contact
    assert by_number[E164["0912000001"]]["status"] in {"confirmed", "failed"}
