#!/usr/bin/env python
"""Outbound campaign figures: calls per minute reached at a given concurrency, CPU per outbound call, and the
scheduler's overhead (one atomic claim in the database).

1. Throughput: ``--contacts`` numbers, every one answered by a sipp callee (sip/uas_confirm.xml: answers, presses
   1 by RFC 2833 after 4 s) behind a Kamailio proxy (the PBX); ``callbot campaign run`` dials them with
   ``--concurrency`` calls at once. Printed: wall time, calls per minute, the run's CPU seconds (user+system of
   the process, from wait4) per call, and the statuses.
2. Scheduling: the same number of contacts in a fresh SQLite store; claims of ``--concurrency`` attempts at a
   time, each settled at once, until every contact is final. Printed: milliseconds per claim and per attempt.

Usage (from the repository root; about 1 minute per 40 contacts at concurrency 4):
    .venv/bin/python -m scripts.bench_campaign --contacts 200 [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from callbot.campaign.contacts import parse_contacts
from callbot.campaign.schedule import CallingWindow, Pace, RetryPolicy
from callbot.config import Settings
from callbot.store import campaigns as store_campaigns
from callbot.store import open_store
from callbot.store.campaigns import CampaignSpec
from callbot.store.models import utcnow
from callbot.types import ContactStatus
from tests.support import REPO
from tests.support.callees import start_callees


def contact_numbers(count: int) -> list[str]:
    return [f"0912{index:06d}" for index in range(1, count + 1)]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "callbot", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False)


def throughput(contacts: int, concurrency: int, workdir: Path) -> None:
    numbers = contact_numbers(contacts)
    callees = start_callees(workdir / "callees", {number: "confirm" for number in numbers})
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLBOT_")}
        env.update({"CALLBOT_DATA_DIR": str(workdir / "data"), "CALLBOT_PROMPTS_DIR": str(REPO / "prompts"),
                    "CALLBOT_OUTBOUND_PROXY": callees.pbx.uri, "CALLBOT_LOG_LEVEL": "WARNING"})
        (workdir / "contacts.csv").write_text("".join(f"{n}\n" for n in numbers))
        made = run_cli(env, "campaign", "create", "bench", "--message", "Thông báo lịch tiêm chủng tuần sau.",
                       "--contacts", str(workdir / "contacts.csv"), "--window", "00:00-24:00", "--days", "mon-sun",
                       "--concurrency", str(concurrency), "--cps", "10", "--max-attempts", "1")
        assert made.returncode == 0, made.stdout + made.stderr
        started = time.monotonic()
        with (workdir / "run.log").open("w") as log:
            process = subprocess.Popen([sys.executable, "-m", "callbot", "campaign", "run", "bench"], cwd=REPO,
                                       env=env, stdout=log, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        assert process.returncode == 0, (workdir / "run.log").read_text()[-3000:]
        report = json.loads(run_cli(env, "campaign", "report", "bench", "--json").stdout)
        statuses = Counter(contact["status"] for contact in report["contacts"])
        cpu = usage.ru_utime + usage.ru_stime
        talk = [c["duration_s"] for c in report["contacts"] if c["duration_s"]]
        print(f"throughput: {contacts} contacts, concurrency {concurrency}: {wall:.1f} s wall, "
              f"{contacts / wall * 60:.1f} calls/min; process CPU {cpu:.1f} s ({cpu / contacts * 1000:.0f} ms per "
              f"call, start-up included); mean talk time {sum(talk) / max(1, len(talk)):.1f} s; "
              f"PBX INVITEs {sum(callees.pbx.invites().values())}; statuses {dict(statuses)}")
    finally:
        callees.stop()


def scheduling(contacts: int, concurrency: int, workdir: Path) -> None:
    store = open_store(Settings(data_dir=workdir / "sched"))
    try:
        spec = CampaignSpec(name="sched", locale="vi", message_text="x", audio_path=None,
                            window=CallingWindow.parse("00:00-24:00", "mon-sun"), retry=RetryPolicy.uniform(1, 60),
                            pace=Pace(concurrency, 100.0))
        parsed = parse_contacts("".join(f"{n}\n" for n in contact_numbers(contacts)))
        with store.session() as session:
            store_campaigns.create_campaign(session, spec=spec, contacts=parsed.contacts, problems=[], actor="bench")
            store_campaigns.change_state(session, name="sched", action="start", actor="bench")
            [campaign_id] = store_campaigns.running_campaign_ids(session, name="sched")
        claims, attempts, claim_s, settle_s = 0, 0, 0.0, 0.0
        start = utcnow()
        while attempts < contacts:
            now = start + timedelta(seconds=claims)  # an injected clock: the pace never holds a claim back
            with store.session() as session:
                began = time.perf_counter()
                claimed = store_campaigns.claim_attempts(session, campaign_id=campaign_id, worker_id="bench",
                                                         incarnation="b", free_slots=concurrency, now=now)
                claim_s += time.perf_counter() - began
                began = time.perf_counter()
                for attempt in claimed:
                    store_campaigns.settle_attempt(session, attempt_id=attempt.attempt_id,
                                                   outcome=ContactStatus.confirmed, sip_code=200, dtmf="1",
                                                   duration_s=5.0, now=now)
                settle_s += time.perf_counter() - began
            claims += 1
            attempts += len(claimed)
            assert claimed, "nothing claimed while contacts were pending"
        print(f"scheduling (SQLite): {claims} claims of up to {concurrency} for {attempts} attempts: "
              f"{claim_s / claims * 1000:.2f} ms per claim, {claim_s / attempts * 1000:.2f} ms per attempt; "
              f"settling {settle_s / attempts * 1000:.2f} ms per attempt")
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--skip-sip", action="store_true", help="only the scheduling figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as folder:
        scheduling(args.contacts, args.concurrency, Path(folder))
        if not args.skip_sip:
            throughput(args.contacts, args.concurrency, Path(folder))


if __name__ == "__main__":
    main()
