"""Scale-out: `callbot edge` on 127.0.0.1 in front of `callbot worker`s on two other "hosts" (127.0.0.2 and
127.0.0.3, each with its own data directory) that share one real PostgreSQL; RTP flows caller <-> worker."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from callbot.config import Settings
from callbot.node.status import read_status
from callbot.store import open_store
from tests.support import REPO
from tests.support.node import node_env
from tests.support.ports import free_sip_port
from tests.support.postgres import PostgresServer
from tests.support.raw_sip import RawSipCaller
from tests.support.sip import run_peer, start_peer, start_service
from tests.support.stores import listed_calls
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.sip]
HOSTS = ("127.0.0.2", "127.0.0.3")


def test_the_edge_dispatches_to_workers_on_two_hosts_sharing_postgresql(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    database_url = postgres_server.create_database()
    workers, ports = [], []
    for index, host in enumerate(HOSTS, start=1):
        port = free_sip_port(host)
        ports.append(port)
        workers.append(start_service(tmp_path / f"host{index}", {
            "CALLBOT_SIP_BIND": host, "CALLBOT_SIP_PORT": str(port), "CALLBOT_WORKER_ID": f"host{index}-w1",
            "CALLBOT_TRUSTED_PEERS": '["127.0.0.1"]', "CALLBOT_DATABASE_URL": database_url,
        }, command=[sys.executable, "-m", "callbot", "worker"]))  # both migrate at once: the lock serializes them
    edge_port = free_sip_port()
    env = node_env(tmp_path / "edge", edge_port, free_sip_port(), {
        "CALLBOT_EDGE_WORKERS": json.dumps([f"{host}:{port}" for host, port in zip(HOSTS, ports)]),
    })
    log_path = tmp_path / "edge.log"
    with log_path.open("w") as output:
        edge = subprocess.Popen([sys.executable, "-m", "callbot", "edge"], cwd=REPO, env=env, stdout=output,
                                stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "callbot: edge on" in log_path.read_text() or edge.poll() is not None, 60, "the edge")
        assert edge.poll() is None, log_path.read_text()[-3000:]
        dispatcher = (tmp_path / "edge" / "node" / "edge" / "dispatcher.list").read_text()
        assert all(f"sip:{host}:{port} 8 0 duid={host}-{port};maxload=4" in dispatcher for host, port in zip(HOSTS, ports))

        caller = RawSipCaller("127.0.0.1")  # who answers, and where must our RTP go?
        try:
            dialog = caller.invite("127.0.0.1", edge_port)
            media = re.search(r"c=IN IP4 (\S+)", dialog.answer_sdp)
            assert media and media.group(1) in HOSTS, dialog.answer_sdp  # the worker's address, not the edge's
            first = start_peer(tmp_path / "c1.json", "--target", f"sip:hotline@127.0.0.1:{edge_port}",
                               "--step", "until_speech:10", "--step", "hold:1", "--step", "hangup")
            second = run_peer(tmp_path / "c2.json", "--target", f"sip:hotline@127.0.0.1:{edge_port}",
                              "--step", "until_speech:10", "--step", "hangup")
            first.wait(60)
            assert caller.request(dialog, "BYE") == 200
        finally:
            caller.close()
        reports = [json.loads((tmp_path / "c1.json").read_text()), second]
        assert all(report["connected"] and report["heard_audio_s"] > 0 for report in reports), reports
        statuses = [read_status(tmp_path / f"host{i}" / "node" / "workers" / f"host{i}-w1.json") for i in (1, 2)]
        assert all(status is not None and status.answered >= 1 for status in statuses), statuses  # both hosts took calls
        assert sum(status.answered for status in statuses if status) == 3

        store = open_store(Settings(data_dir=tmp_path / "api", database_url=database_url), migrate=False)
        try:
            def filed() -> list:
                calls = [c for c in listed_calls(store, limit=50)
                         if c.call_id in {dialog.call_id, *(r["call_id"] for r in reports)}]
                return calls if len(calls) == 3 and all(c.ticket_number and c.ended_at for c in calls) else []

            assert wait_until(filed, 30, "three tickets in PostgreSQL")
        finally:
            store.close()
    finally:
        edge.send_signal(signal.SIGTERM)
        assert edge.wait(30) == 0, log_path.read_text()[-3000:]
        for worker in workers:
            assert worker.stop() == 0, worker.log()[-3000:]
