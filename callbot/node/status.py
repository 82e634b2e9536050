"""What each bot process reports about itself: a small JSON file per worker, rewritten atomically every second.

Files (not a socket) because the readers come and go independently of the writers: the supervisor reads them to
know a (re)started worker is answering, the API's ``/metrics`` reads them at scrape time, and a worker that dies
leaves its last figures behind (its ``updated_at`` stops moving). No citizen data: counts and addresses only.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from callbot.config import Settings

log = logging.getLogger(__name__)

REPORT_INTERVAL_S = 1.0
STALE_AFTER_S = 5.0  # a status not rewritten for this long belongs to a worker that is gone or stuck

WorkerState = Literal["running", "draining", "stopped"]


@dataclass(frozen=True, slots=True)
class WorkerStatus:
    worker_id: str
    pid: int
    sip: str  # "host:port" the worker answers on
    call_limit: int
    active_calls: int
    answered: int
    rejected: dict[str, int] = field(default_factory=dict)  # by reason (untrusted, full, draining, ...)
    state: WorkerState = "running"
    started_at: float = 0.0  # unix time
    updated_at: float = 0.0
    record_only: bool = False  # no speech recognition model: answers are recorded for a person to transcribe
    turn_latency: dict[str, object] = field(default_factory=dict)  # LatencyHistogram.snapshot(): counts, sum
    asr_backlog_ms: float = 0.0  # the longest a live call's audio has waited to be heard
    asr_behind: bool = False  # ...over CALLBOT_ASR_MAX_BACKLOG_MS: new calls are refused (486, "asr_behind")
    recognizers: dict[str, int] = field(default_factory=dict)  # the warm pool: created, reused, dropped, idle

    def fresh(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) - self.updated_at < STALE_AFTER_S


def status_dir(settings: Settings) -> Path:
    return settings.data_dir / "node" / "workers"


def status_path(settings: Settings, worker_id: str) -> Path:
    return status_dir(settings) / f"{worker_id}.json"


def write_status(path: Path, status: WorkerStatus) -> None:
    """Write-then-rename: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".status-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(asdict(status), stream)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_status(path: Path) -> WorkerStatus | None:
    try:
        return WorkerStatus(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def read_statuses(directory: Path) -> list[WorkerStatus]:
    if not directory.is_dir():
        return []
    found = (read_status(path) for path in sorted(directory.glob("*.json")))
    return [status for status in found if status is not None]


class StatusReporter:
    """A daemon thread writing ``snapshot()`` to ``path`` every second until stopped (then once more)."""

    def __init__(self, path: Path, snapshot: Callable[[], WorkerStatus]) -> None:
        self.path = path
        self._snapshot = snapshot
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="status", daemon=True)

    def start(self) -> None:
        self.report()
        self._thread.start()

    def report(self) -> None:
        try:
            write_status(self.path, self._snapshot())
        except Exception:  # figures are best effort; calls must not suffer for them
            log.exception("could not write the worker status %s", self.path)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(5)
        self.report()

    def _run(self) -> None:
        while not self._stop.wait(REPORT_INTERVAL_S):
            self.report()


def node_runs_record_only(settings: Settings) -> bool:
    """Whether a running worker of this node has no speech model (its answers wait for a person to transcribe):
    what the workers report, not a guess from the API's own settings."""
    now = time.time()
    return any(status.record_only and status.fresh(now) and status.state == "running"
               for status in read_statuses(status_dir(settings)))
