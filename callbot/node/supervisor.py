"""``callbot serve``'s node: local bot workers and the Kamailio edge, started, watched and drained.

Start: the workers first (each reports its call limit in its status file once it answers), then the edge, whose
dispatcher list needs those limits as ``maxload`` (Kamailio cannot reload a call-load list at run time).
Watch (a thread, every 0.2 s): a worker that exits is taken out of the edge's set at once (``dispatcher.set_state
ip``) and started again with the same id and port (at once, or after up to 5 s if it keeps dying young); it is put
back (``ap``) when its status shows the new process answering. A dead edge is started again too.
Stop (SIGTERM): the edge stops dispatching (every worker disabled: new calls get 503), each worker winds up its
live calls (their tickets are filed, the BYEs still cross the edge), then the edge goes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from callbot.config import Settings
from callbot.node.edge import (
    EdgeError,
    EdgeProcess,
    die_with_parent,
    dispatcher_attributes,
    edge_directory,
    edge_files,
)
from callbot.node.status import read_status, status_path
from callbot.node.topology import NodePlan, WorkerAddress

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.2
YOUNG_DEATH_S = 10.0  # a worker dying younger than this is restarted with a growing delay...
MAX_RESTART_DELAY_S = 5.0  # ...never longer than this
WORKER_START_TIMEOUT_S = 180.0
WORKER_STOP_GRACE_S = 40.0  # a worker's own shutdown gives live calls 15 s, its SIP endpoint 5 s more


class NodeError(RuntimeError):
    """The node could not start (a worker or the edge failed); the message says which and why."""


@dataclass(eq=False)
class WorkerProcess:
    address: WorkerAddress
    log_path: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0  # monotonic
    call_limit: int | None = None
    restarts: int = 0
    quick_deaths: int = 0
    restart_at: float | None = None  # monotonic; set while it is down
    answering: bool = False

    @property
    def worker_id(self) -> str:
        return self.address.worker_id

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class NodeSupervisor:
    def __init__(self, settings: Settings, plan: NodePlan, *, config_file: Path | None = None) -> None:
        self.settings = settings
        self.plan = plan
        self.config_file = config_file
        self.logs_dir = settings.data_dir / "node" / "logs"
        self.workers = [WorkerProcess(address, self.logs_dir / f"{address.worker_id}.log")
                        for address in plan.local_workers]
        self.edge: EdgeProcess | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="node-supervisor", daemon=True)

    # --- start ----------------------------------------------------------------------------------------------
    def start(self, calls_per_remote_worker: Callable[[], int] | None = None) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        for worker in self.workers:
            self._spawn(worker)
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        for worker in self.workers:
            self._await_answering(worker, deadline)
        limits = [worker.call_limit for worker in self.workers if worker.call_limit]
        default_max_load = limits[0] if limits else (calls_per_remote_worker() if calls_per_remote_worker else 1)
        files = edge_files(self.settings, self.plan.trusted, self._dispatched_workers(), default_max_load)
        directory = edge_directory(self.settings)
        files.write(directory)
        self.edge = EdgeProcess(self.settings, directory, output=self._log_file("edge"))
        try:
            self.edge.start()
        except EdgeError:
            self.stop()
            raise
        self._watcher.start()

    def _dispatched_workers(self) -> list[WorkerAddress]:
        local = [WorkerAddress(w.worker_id, w.address.host, w.address.port, w.call_limit) for w in self.workers]
        return [*local, *self.plan.remote_workers]

    def _attributes(self, worker: WorkerProcess) -> str:
        return dispatcher_attributes(worker.address, worker.call_limit or self.calls_per_worker or 1)

    def _log_file(self, name: str):  # noqa: ANN202 (an open text file, appended across restarts)
        path = self.logs_dir / f"{name}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", buffering=1)

    def _spawn(self, worker: WorkerProcess) -> None:
        env = dict(os.environ)
        env.update({
            "CALLBOT_SIP_BIND": worker.address.host,
            "CALLBOT_SIP_PORT": str(worker.address.port),
            "CALLBOT_WORKER_ID": worker.worker_id,
            "CALLBOT_TRUSTED_PEERS": json.dumps(list(self.plan.worker_trusted_peers)),
            "CALLBOT_DATA_DIR": str(self.settings.data_dir.resolve()),
        })
        if self.config_file is not None:
            env["CALLBOT_CONFIG"] = str(self.config_file)
        with self._log_file(worker.worker_id) as output:
            worker.process = subprocess.Popen([sys.executable, "-m", "callbot", "worker"], env=env, stdout=output,
                                              stderr=subprocess.STDOUT, start_new_session=True,
                                              preexec_fn=die_with_parent)
        worker.started_at = time.monotonic()
        worker.answering = False
        worker.restart_at = None

    def _status_shows_answering(self, worker: WorkerProcess) -> bool:
        status = read_status(status_path(self.settings, worker.worker_id))
        if status is None or worker.process is None or status.pid != worker.process.pid or status.state != "running":
            return False
        worker.call_limit = status.call_limit
        return True

    def _await_answering(self, worker: WorkerProcess, deadline: float) -> None:
        while not self._status_shows_answering(worker):
            if worker.process is not None and worker.process.poll() is not None:
                self.stop()
                raise NodeError(f"worker {worker.worker_id} exited at start ({worker.process.returncode}):\n"
                                f"{tail(worker.log_path)}")
            if time.monotonic() > deadline:
                self.stop()
                raise NodeError(f"worker {worker.worker_id} did not answer within {WORKER_START_TIMEOUT_S:.0f} s:\n"
                                f"{tail(worker.log_path)}")
            time.sleep(0.1)
        worker.answering = True

    # --- what the node carries --------------------------------------------------------------------------------
    @property
    def calls_per_worker(self) -> int:
        limits = [worker.call_limit for worker in self.workers if worker.call_limit]
        return limits[0] if limits else 0

    @property
    def capacity(self) -> int:
        local = sum(worker.call_limit or 0 for worker in self.workers)
        return local + sum(worker.max_load or self.calls_per_worker for worker in self.plan.remote_workers)

    def restarts(self) -> dict[str, int]:
        return {worker.worker_id: worker.restarts for worker in self.workers}

    # --- watch ------------------------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_INTERVAL_S):
            try:
                for worker in self.workers:
                    self._watch_worker(worker)
                self._watch_edge()
            except Exception:  # the watcher must outlive any one mishap
                log.exception("node supervisor check failed")

    def _watch_worker(self, worker: WorkerProcess) -> None:
        now = time.monotonic()
        if worker.process is not None and worker.process.poll() is not None and worker.restart_at is None:
            code = worker.process.returncode
            lived = now - worker.started_at
            worker.quick_deaths = worker.quick_deaths + 1 if lived < YOUNG_DEATH_S else 0
            delay = min(MAX_RESTART_DELAY_S, 0.5 * 2 ** (worker.quick_deaths - 1)) if worker.quick_deaths > 1 else 0.0
            worker.restart_at = now + delay
            worker.answering = False
            if self.edge is not None:  # no new calls to it meanwhile, and its dead calls no longer count
                if not self.edge.forget_calls_of(worker.address.uri, self._attributes(worker)):
                    self.edge.set_worker_state(worker.address.uri, "ip")
            log.warning("worker %s exited (%s) after %.0f s; restarting it in %.1f s", worker.worker_id, code, lived,
                        delay)
        if worker.restart_at is not None and now >= worker.restart_at and not self._stopping.is_set():
            worker.restarts += 1
            self._spawn(worker)
            log.info("worker %s restarted (pid %s)", worker.worker_id, worker.process.pid if worker.process else "?")
        elif not worker.answering and worker.alive() and self._status_shows_answering(worker):
            worker.answering = True
            if self.edge is not None:
                self.edge.set_worker_state(worker.address.uri, "ap")
            log.info("worker %s is answering again", worker.worker_id)

    def _watch_edge(self) -> None:
        if self.edge is None or self.edge.alive or self._stopping.is_set():
            return
        log.error("the edge (Kamailio) exited (%s); starting it again",
                  self.edge.process.returncode if self.edge.process else "?")
        self.edge.output = self._log_file("edge")
        try:
            self.edge.start()
        except EdgeError:
            log.exception("the edge could not be started again")
            return
        for worker in self.workers:
            if not worker.answering:
                self.edge.set_worker_state(worker.address.uri, "ip")

    # --- stop -------------------------------------------------------------------------------------------------
    def stop(self, grace_s: float = WORKER_STOP_GRACE_S) -> None:
        """Drain: no new calls at the edge, live calls wound up and filed by their workers, then everything exits."""
        if self.edge is not None and self.edge.alive:
            self.edge.set_worker_state("all", "d")
        self._stopping.set()
        if self._watcher.ident is not None:
            self._watcher.join(5)
        for worker in self.workers:
            if worker.alive():
                worker.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        deadline = time.monotonic() + grace_s
        for worker in self.workers:
            if worker.process is None:
                continue
            try:
                worker.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker %s did not stop within %.0f s; killing it", worker.worker_id, grace_s)
                worker.process.kill()
                worker.process.wait()
        if self.edge is not None:
            self.edge.stop()


def tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


def absorb_exit_signals() -> None:
    """Make SIGTERM/SIGINT plain notifications. uvicorn stops on them and then re-raises the signal it caught;
    with the default handlers that would kill the process before the node (or its calls) is drained."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: log.info("%s: shutting down", signal.Signals(signum).name))
