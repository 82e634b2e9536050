"""The node (`callbot serve`: Kamailio edge + supervised workers + API) as a subprocess, and what tests read of it:
worker status files, the edge's dispatcher state over kamcmd, /metrics, tickets in the store."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from callbot.api.schemas import CallPublic
from callbot.config import Settings
from callbot.node.status import WorkerStatus, read_statuses
from callbot.store import Store, open_store
from tests.support import REPO
from tests.support.ports import free_sip_port
from tests.support.processes import stop_gracefully, wait_for_http
from tests.support.stores import listed_calls

BANNER = re.compile(r"node answering SIP on .* = capacity (\d+) calls")


@dataclass
class NodeProcess:
    process: subprocess.Popen
    sip_port: int
    http_port: int
    data_dir: Path
    log_path: Path
    database_url: str | None = None

    @property
    def sip_uri(self) -> str:
        return f"sip:hotline@127.0.0.1:{self.sip_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_log(self, worker_id: str) -> str:
        path = self.data_dir / "node" / "logs" / f"{worker_id}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def capacity(self) -> int:
        match = BANNER.search(self.log())
        assert match, self.log()[-2000:]
        return int(match.group(1))

    def statuses(self) -> dict[str, WorkerStatus]:
        return {status.worker_id: status for status in read_statuses(self.data_dir / "node" / "workers")}

    def kamcmd(self, *args: str) -> str:
        done = subprocess.run(["kamcmd", "-s", "unix:kamailio_ctl", *args], cwd=self.data_dir / "node" / "edge",
                              capture_output=True, text=True, timeout=10)
        return done.stdout

    def dispatcher_flags(self) -> dict[str, str]:
        flags, uri = {}, None
        for line in self.kamcmd("dispatcher.list").splitlines():
            name, _, value = line.strip().partition(":")
            if name == "URI":
                uri = value.strip()
            elif name == "FLAGS" and uri:
                flags[uri] = value.strip()
        return flags

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.http_port}/metrics", timeout=10).text

    def metric(self, name: str, **labels: str) -> float:
        selector = ",".join(f'{key}="{value}"' for key, value in labels.items())
        pattern = re.escape(name + (f"{{{selector}}}" if selector else "")) + r" ([0-9.e+-]+)"
        match = re.search("^" + pattern + "$", self.metrics(), re.M)
        assert match, f"{name} {labels} not in /metrics"
        return float(match.group(1))

    def store(self) -> Store:
        return open_store(Settings(data_dir=self.data_dir, database_url=self.database_url), migrate=False)

    def calls(self) -> list[CallPublic]:
        store = self.store()
        try:
            return listed_calls(store, limit=1000)
        finally:
            store.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 90.0) -> int:
        return stop_gracefully(self.process, timeout)


def node_env(data_dir: Path, sip_port: int, http_port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOT_")}
    env.update({
        "CALLBOT_DATA_DIR": str(data_dir), "CALLBOT_PROMPTS_DIR": str(REPO / "prompts"),
        "CALLBOT_SIP_PORT": str(sip_port), "CALLBOT_HTTP_PORT": str(http_port),
    })
    env.update(extra or {})
    return env


def start_node(data_dir: Path, env: dict[str, str] | None = None, timeout: float = 240.0) -> NodeProcess:
    """`callbot serve` on free ports; returns once the API answers (the workers and the edge are up by then)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    sip_port, http_port = free_sip_port(), free_sip_port()
    log_path = data_dir / "serve.log"
    child_env = node_env(data_dir, sip_port, http_port, env)
    with log_path.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "callbot", "serve"], cwd=REPO, env=child_env,
                                   stdout=output, stderr=subprocess.STDOUT)
    node = NodeProcess(process, sip_port, http_port, data_dir, log_path, child_env.get("CALLBOT_DATABASE_URL"))
    try:
        wait_for_http(f"http://127.0.0.1:{http_port}/healthz", process, timeout=timeout, output=node.log)
    except BaseException:
        node.stop()
        raise
    return node


def sipp(*args: str, cwd: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sipp", *args, "-nostdin"], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


def responses_to_invite(message_log: Path) -> dict[str, int]:
    """Call-ID -> final status of its INVITE, from a sipp -trace_msg log."""
    text = message_log.read_text(errors="replace")
    codes = []
    for block in re.split(r"^-{20,}.*$", text, flags=re.M):
        first = re.search(r"^SIP/2\.0 (\d{3})", block, re.M)
        if first and int(first.group(1)) >= 200 and re.search(r"^CSeq:\s*1 INVITE", block, re.M | re.I):
            codes.append((re.search(r"^Call-ID:\s*(\S+)", block, re.M | re.I).group(1), int(first.group(1))))  # type: ignore[union-attr]
    seen: dict[str, int] = {}
    for call_id, code in codes:  # retransmitted finals count once
        seen.setdefault(call_id, code)
    return seen
