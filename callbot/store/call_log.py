"""CallLog: what a live call writes (its start, turns, draft, ticket, end), never lost.

Each write goes to the database, or, when it is unreachable, to the fsynced journal, replayed as soon as the
database answers again: on the next write of that call, when the schema first becomes ready, and from the
background check (``StoreMaintenance``), which also heartbeats this worker. All writes are keyword-only.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from callbot.config import Settings
from callbot.store import operators, workers
from callbot.store.database import UNREACHABLE, Database
from callbot.store.journal import JournalOp, TicketJournal
from callbot.store.maintenance import JOURNAL_CHECK_INTERVAL_S, StoreMaintenance
from callbot.store.models import Operator, as_utc, utcnow
from callbot.ticket_numbers import new_ticket_number
from callbot.store.operations import CallOperations, draft_dict
from callbot.store.routing import Router
from callbot.types import Escalation, Speaker, TicketDraft, TurnKind

log = logging.getLogger(__name__)

DATABASE_RETRY_INTERVAL_S = 2.0  # after a failure, journal straight away for this long before trying again


@dataclass(slots=True)
class ReplayReport:
    replayed_calls: int = 0
    remaining_calls: int = 0
    tickets: list[str] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)  # call id, operation and what was wrong (no values)

    def add(self, other: ReplayReport) -> None:
        self.replayed_calls += other.replayed_calls
        self.tickets.extend(other.tickets)
        self.bad_lines.extend(other.bad_lines)


class CallLog:
    def __init__(self, *, settings: Settings, database: Database, journal: TicketJournal,
                 retry_interval_s: float = DATABASE_RETRY_INTERVAL_S,
                 check_interval_s: float = JOURNAL_CHECK_INTERVAL_S) -> None:
        self.settings = settings
        self.database = database
        self.journal = journal
        self.operations = CallOperations(settings, Router(settings.category_units))
        self.worker_id = settings.effective_worker_id
        self.incarnation = uuid.uuid4().hex  # this process: its calls are live while it runs
        self.worker_registered = False
        self.replayed = ReplayReport()  # everything replayed (at open, on use, in the background)
        self.maintenance = StoreMaintenance(self, check_interval_s)
        self._retry_interval_s = retry_interval_s
        self._retry_at = 0.0
        self._journaling = False
        self._lock = threading.RLock()
        database.on_ready(self.replay_journal)

    def start(self) -> None:
        """Make the database ready and replay the journal; a database that is down is not fatal: calls are
        journaled and everything is done as soon as it answers."""
        try:
            self.database.ensure_ready()
        except UNREACHABLE as exc:
            self._database_failed(exc)
        if self.journal_pending():
            self.maintenance.ensure_running()

    def close(self) -> None:
        self.maintenance.stop()

    # --- workers (several processes share one database) -----------------------------------------------
    def register_worker(self, *, stale_after_s: float) -> frozenset[str]:
        """Claim this worker id for this process and heartbeat from now on; returns the incarnations that
        must be left alone (another live process using the same worker id)."""
        with self.database.session() as session:
            spared = workers.register(session, worker_id=self.worker_id, incarnation=self.incarnation,
                                      now=utcnow(), stale_after_s=stale_after_s)
        self.worker_registered = True
        self.maintenance.ensure_running()
        return spared

    def heartbeat(self) -> None:
        try:
            with self.database.session() as session:
                alive = workers.heartbeat(session, worker_id=self.worker_id, incarnation=self.incarnation,
                                          now=utcnow())
            if not alive and self.worker_registered:  # said once: two processes share one worker id
                log.error("worker id %s was taken over by another process; this one's calls may be recovered "
                          "while it runs", self.worker_id)
            self.worker_registered = alive
        except UNREACHABLE as exc:
            self._database_failed(exc)

    def when_database_answers(self, task: Callable[[], object]) -> None:
        self.maintenance.when_database_answers(task)

    # --- the call's writes ----------------------------------------------------------------------------
    def start_call(self, *, call_id: str, caller_id: str | None, locale: str, started_at: datetime,
                   recording_path: str | Path | None = None) -> None:
        self._apply(call_id, {"op": "start_call", "caller_id": caller_id, "locale": locale,
                              "started_at": as_utc(started_at).isoformat(), "worker_id": self.worker_id,
                              "incarnation": self.incarnation,
                              "recording_path": str(recording_path) if recording_path else None})

    def add_turn(
        self,
        *,
        call_id: str,
        speaker: Speaker | str,
        text: str,
        confidence: float | None,
        start: float,
        end: float,
        kind: TurnKind | str,
        words: Sequence[dict[str, Any]] | None = None,
        latency_ms: float | None = None,
    ) -> None:
        """``speaker`` and ``kind`` as the enums or their values (refused: any other string)."""
        self._apply(call_id, {"op": "add_turn", "speaker": Speaker(speaker).value, "text": text,
                              "confidence": confidence, "start": start, "end": end, "kind": TurnKind(kind).value,
                              "words": list(words) if words else None, "latency_ms": latency_ms,
                              "at": utcnow().isoformat()})

    def save_draft(self, *, call_id: str, draft: TicketDraft, clips: Iterable[str | Path] = ()) -> None:
        """Write ahead what the call has captured so far (its slots and answer clips): a process killed at any
        moment leaves enough for recovery to file the partial ticket."""
        self._apply(call_id, {"op": "save_draft", "draft": draft_dict(draft), "clips": [str(c) for c in clips],
                              "at": utcnow().isoformat()})

    def finish_call(
        self, *, call_id: str, outcome: str, ended_at: datetime, recording_path: str | Path | None = None
    ) -> None:
        self._apply(call_id, {"op": "finish_call", "outcome": outcome, "ended_at": as_utc(ended_at).isoformat(),
                              "recording_path": str(recording_path) if recording_path else None})

    def file_ticket(
        self, *, draft: TicketDraft, recording_path: str | Path | None = None, clips: Iterable[str | Path] = (),
        reason: str | None = None,
    ) -> str:
        """File the call's ticket and return its 8-digit number; the ticket is durable (committed, or fsynced
        in the journal) before this returns. Filing the same call again returns the same number (and may move
        its escalation from operator to callback: a transfer that found nobody). ``reason`` says why a call
        ended abnormally (``crashed``: filed by recovery)."""
        call_id = draft.call_id
        journaled = self.journal.ticket_number(call_id)
        replayed = bool(journaled) and self._replay_call_if_possible(call_id)
        op = {
            "op": "file_ticket",
            "number": journaled or new_ticket_number(),
            "draft": draft_dict(draft),
            "recording_path": str(recording_path) if recording_path else None,
            "clips": [str(c) for c in clips],
            "filed_at": utcnow().isoformat(),
            "reason": reason,
        }
        if journaled and not replayed:
            if draft.escalation == Escalation.callback:  # a call-back owed since: replayed behind the first filing
                self._journal(call_id, op)
            return journaled
        return self._apply(call_id, op) or op["number"]

    def free_operator(self) -> Operator | None:
        """The operator available the longest, or None (also None while the database is unreachable)."""
        if not self._database_worth_trying():
            return None
        try:
            with self.database.session() as session:
                return operators.free_operator(session)
        except UNREACHABLE:
            return None

    # --- applying operations: database first, journal when it is unreachable ------------------------
    def _apply(self, call_id: str, op: JournalOp) -> Any:
        if self.journal.has(call_id) and not self._replay_call_if_possible(call_id):
            self._journal(call_id, op)  # keep this call's operations in order behind the journaled ones
            return None
        if not self._database_worth_trying():
            self._journal(call_id, op)
            return None
        try:
            with self.database.session() as session:
                result = self.operations.apply(session, call_id, op)
                session.commit()
        except UNREACHABLE as exc:
            self._database_failed(exc)
            self._journal(call_id, op)
            return None
        self._journaling = False
        if self.journal_pending():
            self.maintenance.ensure_running(now=True)  # other calls' journals: replayed off this call's thread
        return result

    def _journal(self, call_id: str, op: JournalOp) -> None:
        self.journal.append(call_id, op)
        self.maintenance.ensure_running()

    def journal_pending(self) -> bool:
        return bool(self.journal.pending_files())

    def _database_worth_trying(self) -> bool:
        """After a failure the database is left alone for a moment, so a call whose database host has
        vanished from the network does not wait a connect timeout on every turn."""
        return time.monotonic() >= self._retry_at

    def _database_failed(self, exc: Exception) -> None:
        self._retry_at = time.monotonic() + self._retry_interval_s
        if not self._journaling:  # say it once per outage, not once per operation
            log.warning("database unreachable (%s); journaling until it returns", exc.__class__.__name__)
            self._journaling = True

    def database_answers(self) -> bool:
        """Whether the database answers now (not tried again within the retry interval after a failure)."""
        if not self._database_worth_trying():
            return False
        try:
            self.database.check()
        except UNREACHABLE as exc:
            self._database_failed(exc)
            return False
        return True

    def _replay_call_if_possible(self, call_id: str) -> bool:
        if not self._database_worth_trying():
            return False
        try:
            self.database.ensure_ready()
            self._replay_file(self.journal.path_of(call_id))
            return True
        except UNREACHABLE as exc:
            self._database_failed(exc)
            return False

    def _replay_file(self, path: Path) -> ReplayReport:
        """Apply one claimed journal file in one transaction; its malformed or refused lines go to quarantine."""
        report = ReplayReport()
        with self._lock, self.journal.claim(path) as batch:
            if batch.finished:
                return report
            if batch.entries:
                with self.database.session() as session:
                    report.tickets = self.operations.replay(session, batch)
                    session.commit()
                report.replayed_calls = 1
            self.journal.finish(batch)
            report.bad_lines = [line.describe() for _, line in batch.bad]
            self.replayed.add(report)
        return report

    def replay_journal(self) -> ReplayReport:
        """Move every journaled call into the database; stops at the first sign the database is down."""
        report = ReplayReport()
        pending = self.journal.pending_files()
        for index, path in enumerate(pending):
            try:
                self.database.ensure_ready()
                report.add(self._replay_file(path))
            except UNREACHABLE as exc:
                self._database_failed(exc)
                report.remaining_calls = len(pending) - index
                break
        if report.replayed_calls:
            log.info("replayed %d journaled call(s) into the database", report.replayed_calls)
        if report.bad_lines:
            log.error("%d malformed journal line(s) kept aside in %s", len(report.bad_lines),
                      self.journal.quarantine_dir)
        return report
