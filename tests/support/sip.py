"""The SIP service (``python -m callbot.service``) and the pjsua2 peers (``tests/support/sip_peer.py``) as
subprocesses, for tests and benchmarks, and what tests read back of a service: its calls and tickets.
Importing this module does not import pjsua2: only the peer process does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from callbot.config import Settings
from callbot.store import Store, open_store
from callbot.store.tickets import TicketRecord
from tests.support import PEER_READY_LINE, REPO
from tests.support.ports import free_sip_port
from tests.support.processes import stop_gracefully
from tests.support.stores import listed_calls, read_ticket
from tests.support.stores import recording_of as stored_recording
from tests.support.waiting import wait_until

READY_LINE = "callbot SIP service ready"


@dataclass
class ServiceProcess:
    """``python -m callbot.service`` running in its own process (its own pjsua2 Endpoint)."""

    process: subprocess.Popen
    port: int
    data_dir: Path
    log_path: Path

    @property
    def uri(self) -> str:
        return f"sip:bot@127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def died(self) -> str | None:
        """Why the service is gone (its exit status and the end of its log), or None while it runs."""
        if self.alive():
            return None
        return f"the service exited ({self.process.returncode}):\n{self.log()[-3000:]}"

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM (graceful shutdown) and the exit status."""
        return stop_gracefully(self.process, timeout)


def start_service(
    data_dir: Path, env: dict[str, str] | None = None, timeout: float = 120.0, command: list[str] | None = None
) -> ServiceProcess:
    """Start the SIP service (or ``command``, which must print READY_LINE) on a free port with ``CALLBOT_*``
    overrides; returns once it answers."""
    port = free_sip_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "service.log"
    child_env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOT_")}
    child_env.update(
        {"CALLBOT_SIP_PORT": str(port), "CALLBOT_DATA_DIR": str(data_dir), "CALLBOT_PROMPTS_DIR": str(REPO / "prompts")}
    )
    child_env.update(env or {})
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command or [sys.executable, "-m", "callbot.service"], cwd=REPO, env=child_env, stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    service = ServiceProcess(process, port, data_dir, log_path)
    try:
        wait_until(lambda: READY_LINE in service.log(), timeout, "the SIP service to start", failed=service.died)
    except AssertionError:
        service.stop()
        raise
    return service


def peer_command(report: Path, *args: str) -> list[str]:
    """The pjsua2 peer (``tests/support/sip_peer.py``) as a command run from the repository root."""
    return [sys.executable, "-m", "tests.support.sip_peer", "--report", str(report), *args]


def run_peer(report: Path, *args: str, timeout: float = 180.0) -> dict:
    """Run a caller (or operator) to completion and return its JSON report."""
    completed = subprocess.run(peer_command(report, *args), cwd=REPO, check=False, capture_output=True, text=True, timeout=timeout)
    if not report.exists():
        raise RuntimeError(f"the SIP peer wrote no report ({completed.returncode}):\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}")
    return json.loads(report.read_text())


def start_peer(report: Path, *args: str, timeout: float = 30.0) -> subprocess.Popen:
    """Start a peer in the background (an operator, or a caller that must hold a line); returns once its SIP
    transport is up (it printed ``sip_peer.READY_LINE``), so an operator can take calls from then on."""
    output = report.with_suffix(".out")
    with output.open("w") as sink:
        process = subprocess.Popen(peer_command(report, *args), cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)

    def died() -> str | None:
        return None if process.poll() is None else f"the peer exited ({process.returncode}):\n{output.read_text()}"

    wait_until(lambda: PEER_READY_LINE in output.read_text(), timeout, "the SIP peer's transport", failed=died)
    return process


# --- what a service's store holds -------------------------------------------------------------------------
def store_for(service: ServiceProcess) -> Store:
    return open_store(Settings(data_dir=service.data_dir), migrate=False)


def calls_of(service: ServiceProcess) -> list:
    store = store_for(service)
    try:
        return list(listed_calls(store, limit=500))
    finally:
        store.close()


def ticket_of(service: ServiceProcess, call_id: str, timeout: float = 20.0) -> TicketRecord | None:
    """The ticket filed for ``call_id`` once its call has ended (waits for the worker to file it), or None."""

    def filed() -> str | None:
        call = next((c for c in calls_of(service) if c.call_id == call_id), None)
        return call.ticket_number if call is not None and call.ended_at is not None else None

    try:
        number = wait_until(filed, timeout, f"the ticket of {call_id}", interval=0.2)
    except AssertionError:
        return None
    store = store_for(service)
    try:
        return read_ticket(store, number)
    finally:
        store.close()


def recording_of(service: ServiceProcess, call_id: str) -> Path | None:
    """The recording the store keeps for ``call_id``."""
    call = next(c for c in calls_of(service) if c.call_id == call_id)
    store = store_for(service)
    try:
        return stored_recording(store, call.id)
    finally:
        store.close()


def all_tickets(service: ServiceProcess) -> int:
    return sum(1 for call in calls_of(service) if call.ticket_number)
