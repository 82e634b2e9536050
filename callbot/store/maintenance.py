"""The store's background check (one thread per store, started when there is something to do): replays the
journal as soon as the database answers again, heartbeats a worker, and runs the work that waited for the
database (a worker's start-up recovery when the database was down at start). It sleeps on an event between
checks (no busy loop) and stops with the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from callbot.store.workers import HEARTBEAT_INTERVAL_S

log = logging.getLogger(__name__)

JOURNAL_CHECK_INTERVAL_S = 2.0


class MaintainedStore(Protocol):
    worker_registered: bool

    def journal_pending(self) -> bool: ...

    def database_answers(self) -> bool: ...

    def replay_journal(self) -> object: ...

    def heartbeat(self) -> None: ...


class StoreMaintenance:
    def __init__(self, store: MaintainedStore, interval_s: float = JOURNAL_CHECK_INTERVAL_S) -> None:
        self._store = store
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._deferred: list[Callable[[], object]] = []
        self._heartbeat_due = 0.0

    def ensure_running(self, *, now: bool = False) -> None:
        """Start the thread if it is not running; ``now`` runs a check straight away."""
        with self._lock:
            if self._stopped:
                return
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="store-maintenance", daemon=True)
                self._thread.start()
        if now:
            self._wake.set()

    def when_database_answers(self, task: Callable[[], object]) -> None:
        """Run ``task`` on the background thread once the database answers (again until it completes)."""
        with self._lock:
            self._deferred.append(task)
        self.ensure_running()

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._stopped = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stopped:
                return
            try:
                self.check()
            except Exception:  # noqa: BLE001  (the check must outlive any one failure)
                log.exception("store background check failed; trying again in %.0f s", self.interval_s)

    def check(self) -> None:
        store = self._store
        pending = store.journal_pending()
        if (pending or self._deferred) and store.database_answers():
            if pending:
                store.replay_journal()
            self._run_deferred()
        if store.worker_registered and time.monotonic() >= self._heartbeat_due:
            store.heartbeat()
            self._heartbeat_due = time.monotonic() + HEARTBEAT_INTERVAL_S

    def _run_deferred(self) -> None:
        with self._lock:
            tasks, self._deferred = self._deferred, []
        for index, task in enumerate(tasks):
            try:
                task()
            except Exception:  # noqa: BLE001  (kept for the next check)
                log.exception("work waiting for the database failed; trying again")
                with self._lock:
                    self._deferred[:0] = tasks[index:]
                return
