"""TicketStore: what the call session files (calls, turns, tickets) and what the API reads and corrects.

Call-session methods are keyword-only and never lose data: when the database is unreachable the operation
goes to the fsynced journal and is replayed when the database answers again (next use, or at open).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, insert, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from callbot.config import Settings
from callbot.store.accounts import Accounts
from callbot.store.database import engine_for_settings, upgrade_schema
from callbot.store import workers
from callbot.store.journal import JournalOp, TicketJournal
from callbot.store.maintenance import JOURNAL_CHECK_INTERVAL_S, StoreMaintenance
from callbot.store.models import (
    ALLOWED_TRANSITIONS,
    AuditEntry,
    AuditEntryPublic,
    Call,
    CallPublic,
    Operator,
    OperatorPublic,
    OperatorStatus,
    Ticket,
    TicketPublic,
    TicketStatus,
    TicketStatusPublic,
    TicketUpdate,
    TuningTicketPublic,
    Turn,
    TurnKind,
    TurnPublic,
    Unit,
    UnitPublic,
    as_utc,
    utcnow,
)
from callbot.store.numbers import format_ticket_number, new_ticket_number
from callbot.store.operations import UNREACHABLE, CallOperations, draft_dict
from callbot.store.retention import RetentionReport, apply_retention
from callbot.store.routing import Router, official_units, resolve_place
from callbot.store.stats import Stats, calls_per_hour, latency_percentiles, tally
from callbot.types import TicketDraft

log = logging.getLogger(__name__)
T = TypeVar("T")

DATABASE_RETRY_INTERVAL_S = 2.0  # after a failure, journal straight away for this long before trying again


# Columns a ticket cannot be without: a change may set them, never empty them.
REQUIRED_TICKET_FIELDS = frozenset({"status", "category", "priority", "needs_transcription", "approved_for_tuning"})


class StoreError(Exception):
    """A request the store refuses (unknown ticket, a status change the life cycle forbids...)."""


class TicketNotFound(StoreError):
    pass


class InvalidChange(StoreError):
    pass


@dataclass(slots=True)
class TicketFilter:
    status: TicketStatus | None = None
    category: str | None = None
    priority: str | None = None
    ward_code: str | None = None
    province_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    offset: int = 0
    limit: int = 50


@dataclass(slots=True)
class Page:
    items: list[Any]
    total: int


class TicketDetail(SQLModel):
    ticket: TicketPublic
    call: CallPublic | None
    turns: list[TurnPublic]
    clips: list[str] = []


class CallDetail(SQLModel):
    call: CallPublic
    turns: list[TurnPublic]
    ticket: TicketPublic | None


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


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class TicketStore:
    def __init__(self, *, settings: Settings, engine: Engine, journal: TicketJournal, migrate: bool = True,
                 retry_interval_s: float = DATABASE_RETRY_INTERVAL_S,
                 check_interval_s: float = JOURNAL_CHECK_INTERVAL_S) -> None:
        self.settings = settings
        self._migrate = migrate
        self._retry_interval_s = retry_interval_s
        self._retry_at = 0.0
        self.engine = engine
        self.journal = journal
        self.accounts = Accounts(engine)
        self.router = Router(settings.category_units)
        self.operations = CallOperations(settings, self.router)
        self.worker_id = settings.effective_worker_id
        self.incarnation = uuid.uuid4().hex  # this process: its calls are live while it runs
        self.worker_registered = False
        self.replayed = ReplayReport()  # everything this store has replayed (at open, on use, in the background)
        self.maintenance = StoreMaintenance(self, check_interval_s)
        self._ready = False
        self._journaling = False
        self._lock = threading.RLock()

    # --- life cycle -----------------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True,
             retry_interval_s: float = DATABASE_RETRY_INTERVAL_S,
             check_interval_s: float = JOURNAL_CHECK_INTERVAL_S) -> TicketStore:
        """Connect, migrate, seed the responsible units, replay the journal. A database that is down at open
        is not fatal: calls are journaled and everything is done as soon as it answers."""
        store = cls(
            settings=settings,
            engine=engine_for_settings(settings),
            journal=TicketJournal(settings.data_dir / "journal"),
            migrate=migrate,
            retry_interval_s=retry_interval_s,
            check_interval_s=check_interval_s,
        )
        try:
            store._ensure_ready()
        except UNREACHABLE as exc:
            store._database_failed(exc)
        if store.journal_pending():
            store.maintenance.ensure_running()
        return store

    def close(self) -> None:
        self.maintenance.stop()
        self.engine.dispose()

    def _ensure_ready(self) -> None:
        with self._lock:
            if self._ready:
                return
            if self._migrate:
                upgrade_schema(self.engine)
            self._seed()
            self._ready = True
        self.replay_journal()

    def _seed(self) -> None:
        with Session(self.engine) as session:
            if session.exec(select(func.count()).select_from(Unit)).one() == 0:
                # One multi-row insert: 3,400 units seed in a fraction of the time of ORM objects.
                session.execute(insert(Unit), [
                    {"code": u.code, "name": u.name, "kind": u.kind, "province_code": u.province_code,
                     "ward_code": u.ward_code} for u in official_units()
                ])
            known = set(session.exec(select(Operator.uri)).all())
            for uri in self.settings.operator_uris:
                if uri not in known:
                    session.add(Operator(uri=uri, status=OperatorStatus.available))
            session.commit()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A database session for reads and supervisor edits (raises if the database is unreachable)."""
        self._ensure_ready()
        with Session(self.engine) as session:
            yield session

    # --- workers (several processes share one database) -----------------------------------------------
    def register_worker(self, *, stale_after_s: float) -> frozenset[str]:
        """Claim this store's worker id for this process and heartbeat from now on; returns the incarnations
        that must be left alone (another live process using the same worker id)."""
        with self.session() as session:
            spared = workers.register(session, worker_id=self.worker_id, incarnation=self.incarnation,
                                      now=utcnow(), stale_after_s=stale_after_s)
        self.worker_registered = True
        self.maintenance.ensure_running()
        return spared

    def heartbeat(self) -> None:
        try:
            with self.session() as session:
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

    # --- the call session's API (journal fallback) --------------------------------------------------
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
        speaker: str,
        text: str,
        confidence: float | None,
        start: float,
        end: float,
        kind: str | TurnKind,
        words: Sequence[dict[str, Any]] | None = None,
        latency_ms: float | None = None,
    ) -> None:
        self._apply(call_id, {"op": "add_turn", "speaker": speaker, "text": text, "confidence": confidence,
                              "start": start, "end": end, "kind": TurnKind(kind).value,
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
        in the journal) before this returns. Filing the same call again returns the same number. ``reason``
        says why a call ended abnormally (``crashed``: filed by recovery)."""
        call_id = draft.call_id
        journaled = self.journal.ticket_number(call_id)
        if journaled and not self._replay_call_if_possible(call_id):
            return journaled
        op = {
            "op": "file_ticket",
            "number": journaled or new_ticket_number(),
            "draft": draft_dict(draft),
            "recording_path": str(recording_path) if recording_path else None,
            "clips": [str(c) for c in clips],
            "filed_at": utcnow().isoformat(),
            "reason": reason,
        }
        return self._apply(call_id, op) or op["number"]

    def free_operator(self) -> OperatorPublic | None:
        """The operator available the longest, or None (also None while the database is unreachable)."""
        if not self._database_worth_trying():
            return None
        try:
            with self.session() as session:
                op = session.exec(
                    select(Operator).where(Operator.status == OperatorStatus.available).order_by(Operator.updated_at)
                ).first()
                return OperatorPublic.model_validate(op, from_attributes=True) if op else None
        except UNREACHABLE:
            return None

    def set_operator_status(self, *, uri: str, status: OperatorStatus | str, name: str | None = None) -> OperatorPublic:
        with self.session() as session:
            op = session.exec(select(Operator).where(Operator.uri == uri)).first()
            if op is None:
                op = Operator(uri=uri)
            op.status = OperatorStatus(status)
            if name is not None:
                op.name = name
            op.updated_at = utcnow()
            session.add(op)
            session.commit()
            session.refresh(op)
            return OperatorPublic.model_validate(op, from_attributes=True)

    def operator_known(self, uri: str) -> bool:
        with self.session() as session:
            return session.exec(select(Operator.id).where(Operator.uri == uri)).first() is not None

    def list_operators(self) -> list[OperatorPublic]:
        with self.session() as session:
            ops = session.exec(select(Operator).order_by(Operator.uri)).all()
            return [OperatorPublic.model_validate(o, from_attributes=True) for o in ops]

    # --- applying operations: database first, journal when it is unreachable ------------------------
    def _apply(self, call_id: str, op: JournalOp) -> Any:
        if self.journal.has(call_id) and not self._replay_call_if_possible(call_id):
            self._journal(call_id, op)  # keep this call's operations in order behind the journaled ones
            return None
        if not self._database_worth_trying():
            self._journal(call_id, op)
            return None
        try:
            self._ensure_ready()
            with Session(self.engine) as session:
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
            with self.session() as session:
                session.exec(select(1)).one()
        except UNREACHABLE as exc:
            self._database_failed(exc)
            return False
        return True

    def _replay_call_if_possible(self, call_id: str) -> bool:
        if not self._database_worth_trying():
            return False
        try:
            self._ensure_ready()
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
                with Session(self.engine) as session:
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
                self._ensure_ready()
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

    # --- reads for the API and UI ---------------------------------------------------------------------
    def _unit_names(self, session: Session, codes: Iterable[str | None]) -> dict[str, str]:
        wanted = {c for c in codes if c}
        if not wanted:
            return {}
        rows = session.exec(select(Unit.code, Unit.name).where(col(Unit.code).in_(wanted))).all()
        return dict(rows)

    def _public_tickets(self, session: Session, tickets: Sequence[Ticket]) -> list[TicketPublic]:
        names = self._unit_names(session, (t.unit_code for t in tickets))
        return [TicketPublic.from_row(t, names.get(t.unit_code or "")) for t in tickets]

    def list_tickets(self, filters: TicketFilter) -> Page:
        conditions = []
        if filters.status:
            conditions.append(Ticket.status == filters.status)
        for column, value in ((Ticket.category, filters.category), (Ticket.priority, filters.priority),
                              (Ticket.ward_code, filters.ward_code), (Ticket.province_code, filters.province_code)):
            if value:
                conditions.append(column == value)
        if filters.since:
            conditions.append(Ticket.created_at >= as_utc(filters.since))
        if filters.until:
            conditions.append(Ticket.created_at <= as_utc(filters.until))
        if filters.text:
            pattern = f"%{_escape_like(filters.text.strip())}%"
            digits = filters.text.replace("-", "").strip()
            conditions.append(or_(
                col(Ticket.name).ilike(pattern, escape="\\"), col(Ticket.address_text).ilike(pattern, escape="\\"),
                col(Ticket.need_text).ilike(pattern, escape="\\"), col(Ticket.ward_name).ilike(pattern, escape="\\"),
                col(Ticket.number).contains(digits) if digits.isdigit() else False,
            ))
        with self.session() as session:
            total = session.exec(select(func.count()).select_from(Ticket).where(*conditions)).one()
            rows = session.exec(
                select(Ticket).where(*conditions).order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
                .offset(filters.offset).limit(filters.limit)
            ).all()
            return Page(items=self._public_tickets(session, rows), total=total)

    def _ticket_row(self, session: Session, number: str) -> Ticket:
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).first()
        if ticket is None:
            raise TicketNotFound(f"no ticket {number}")
        return ticket

    def _turns(self, session: Session, call_id: str) -> list[TurnPublic]:
        turns = session.exec(select(Turn).where(Turn.call_id == call_id).order_by(Turn.seq)).all()
        return [TurnPublic.model_validate(t, from_attributes=True) for t in turns]

    def get_ticket(self, number: str) -> TicketDetail:
        with self.session() as session:
            ticket = self._ticket_row(session, number)
            call = session.exec(select(Call).where(Call.call_id == ticket.call_id)).first()
            return TicketDetail(
                ticket=self._public_tickets(session, [ticket])[0],
                call=CallPublic.from_row(call, ticket.number) if call else None,
                turns=self._turns(session, ticket.call_id),
                clips=list(ticket.clips or []),
            )

    def tickets_approved_for_tuning(self, *, offset: int = 0, limit: int = 100) -> Page:
        with self.session() as session:
            approved = col(Ticket.tuning_approved_at).is_not(None)
            total = session.exec(select(func.count()).select_from(Ticket).where(approved)).one()
            rows = session.exec(select(Ticket).where(approved).order_by(col(Ticket.tuning_approved_at).desc())
                                .offset(offset).limit(limit)).all()
            return Page(items=[TuningTicketPublic(
                number=t.number, display_number=format_ticket_number(t.number), locale=t.locale, outcome=t.outcome,
                approved_by=t.tuning_approved_by or "", approved_at=t.tuning_approved_at) for t in rows], total=total)

    def caller_status(self, number: str) -> TicketStatusPublic | None:
        with self.session() as session:
            ticket = session.exec(select(Ticket).where(Ticket.number == number)).first()
            if ticket is None:
                return None
            unit = session.get(Unit, ticket.unit_code) if ticket.unit_code else None
            return TicketStatusPublic(number=ticket.number, status=ticket.status, unit_name=unit.name if unit else None)

    def update_ticket(self, number: str, update: TicketUpdate, *, actor: str) -> TicketPublic:
        """Apply a supervisor's change; every changed field gets an audit entry (who, when, old, new).
        ``approved_for_tuning`` records who approved the ticket as a tuning fixture, and when."""
        changes = update.model_dump(exclude_unset=True)
        for required in REQUIRED_TICKET_FIELDS & changes.keys():
            if changes[required] is None:  # TicketUpdate refuses this already; the store never writes it
                raise InvalidChange(f"{required} may not be empty")
        with self.session() as session:
            ticket = self._ticket_row(session, number)
            if "approved_for_tuning" in changes:
                approved = changes.pop("approved_for_tuning")
                if approved != (ticket.tuning_approved_at is not None):
                    ticket.tuning_approved_by, ticket.tuning_approved_at = (actor, utcnow()) if approved else (None, None)
                    session.add(AuditEntry(actor=actor, action="ticket.update", target_type="ticket",
                                           target_id=ticket.number, field="approved_for_tuning",
                                           old_value=str(not approved).lower(), new_value=str(approved).lower()))
            if "status" in changes:
                new_status = TicketStatus(changes["status"])
                current = TicketStatus(ticket.status)
                if new_status != current and new_status not in ALLOWED_TRANSITIONS[current]:
                    raise InvalidChange(f"status cannot go from {current.value} to {new_status.value}")
            if changes.get("unit_code") is not None and session.get(Unit, changes["unit_code"]) is None:
                raise InvalidChange(f"no responsible unit {changes['unit_code']}")
            if "ward_code" in changes or "province_code" in changes:
                place = resolve_place(changes.get("ward_code", ticket.ward_code),
                                      changes.get("province_code", ticket.province_code))
                changes.update(ward_code=place.ward_code, ward_name=place.ward_name,
                               province_code=place.province_code, province_name=place.province_name)
            if changes.get("assigned_to") and "status" not in changes and ticket.status == TicketStatus.new:
                changes["status"] = TicketStatus.assigned  # assigning a new ticket moves it along
            now = utcnow()
            for name, value in changes.items():
                old = getattr(ticket, name)
                if _as_text(old) == _as_text(value):
                    continue
                setattr(ticket, name, value)
                session.add(AuditEntry(at=now, actor=actor, action="ticket.update", target_type="ticket",
                                       target_id=ticket.number, field=name, old_value=_as_text(old),
                                       new_value=_as_text(value)))
            ticket.updated_at = now
            session.add(ticket)
            session.commit()
            session.refresh(ticket)
            return self._public_tickets(session, [ticket])[0]

    def list_calls(self, *, offset: int = 0, limit: int = 50, since: datetime | None = None,
                   until: datetime | None = None) -> Page:
        conditions = []
        if since:
            conditions.append(Call.started_at >= as_utc(since))
        if until:
            conditions.append(Call.started_at <= as_utc(until))
        with self.session() as session:
            total = session.exec(select(func.count()).select_from(Call).where(*conditions)).one()
            rows = session.exec(
                select(Call, Ticket.number).join(Ticket, col(Ticket.call_id) == col(Call.call_id), isouter=True)
                .where(*conditions).order_by(col(Call.started_at).desc(), col(Call.id).desc())
                .offset(offset).limit(limit)
            ).all()
            return Page(items=[CallPublic.from_row(call, number) for call, number in rows], total=total)

    def get_call(self, call_pk: int) -> CallDetail:
        with self.session() as session:
            call = session.get(Call, call_pk)
            if call is None:
                raise TicketNotFound(f"no call {call_pk}")
            ticket = session.exec(select(Ticket).where(Ticket.call_id == call.call_id)).first()
            return CallDetail(
                call=CallPublic.from_row(call, ticket.number if ticket else None),
                turns=self._turns(session, call.call_id),
                ticket=self._public_tickets(session, [ticket])[0] if ticket else None,
            )

    def recording_path(self, call_pk: int) -> Path | None:
        with self.session() as session:
            call = session.get(Call, call_pk)
            if call is None:
                raise TicketNotFound(f"no call {call_pk}")
            return Path(call.recording_path) if call.recording_path else None

    def list_units(self, *, province_code: str | None = None) -> list[UnitPublic]:
        with self.session() as session:
            query = select(Unit).order_by(Unit.code)
            if province_code:
                query = query.where(Unit.province_code == province_code)
            return [UnitPublic.model_validate(u, from_attributes=True) for u in session.exec(query).all()]

    def stats(self, *, since: datetime | None = None, until: datetime | None = None) -> Stats:
        until = as_utc(until) if until else utcnow()
        since = as_utc(since) if since else until - timedelta(hours=24)
        with self.session() as session:
            calls = session.exec(
                select(Call.started_at, Call.outcome).where(Call.started_at >= since, Call.started_at <= until)
            ).all()
            tickets = session.exec(
                select(Ticket.category).where(Ticket.created_at >= since, Ticket.created_at <= until)
            ).all()
            latencies = session.exec(
                select(Turn.latency_ms).join(Call, col(Call.call_id) == col(Turn.call_id))
                .where(col(Turn.latency_ms).is_not(None), Call.started_at >= since, Call.started_at <= until)
            ).all()
        return Stats(
            since=since, until=until, calls_total=len(calls), tickets_total=len(tickets),
            calls_per_hour=calls_per_hour((as_utc(s) for s, _ in calls), since, until),
            outcomes=tally(o for _, o in calls), categories=tally(tickets),
            turn_latency=latency_percentiles(v for v in latencies if v is not None),
        )

    def ticket_counts_by_status(self) -> dict[str, int]:
        with self.session() as session:
            rows = session.exec(select(Ticket.status, func.count()).group_by(Ticket.status)).all()
        counts = {s.value: 0 for s in TicketStatus}
        counts.update({TicketStatus(name).value: count for name, count in rows})
        return counts

    def ping(self) -> bool:
        """Whether the database answers right now."""
        try:
            with self.session() as session:
                session.exec(select(1)).one()
            return True
        except UNREACHABLE:
            return False

    # --- audit ------------------------------------------------------------------------------------------
    def audit(self, *, actor: str, action: str, target_type: str, target_id: str,
              field: str | None = None, old_value: str | None = None, new_value: str | None = None) -> None:
        with self.session() as session:
            session.add(AuditEntry(actor=actor, action=action, target_type=target_type, target_id=target_id,
                                   field=field, old_value=old_value, new_value=new_value))
            session.commit()

    def audit_log(self, *, target_id: str | None = None, action: str | None = None,
                  limit: int = 200) -> list[AuditEntryPublic]:
        with self.session() as session:
            query = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit)
            if target_id:
                query = query.where(AuditEntry.target_id == target_id)
            if action:
                query = query.where(AuditEntry.action == action)
            return [AuditEntryPublic.model_validate(a, from_attributes=True) for a in session.exec(query).all()]

    # --- retention ---------------------------------------------------------------------------------
    def apply_retention(self, *, days: int, actor: str) -> RetentionReport:
        """Delete recordings, answer clips, orphaned audio files and transcripts older than ``days``
        (callbot.store.retention); every deletion is audit-logged with the counts."""
        with self.session() as session:
            report = apply_retention(session, settings=self.settings, days=days, actor=actor, now=utcnow())
            session.commit()
        return report


def _value(item: Any) -> Any:
    return getattr(item, "value", item)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(_value(value))
