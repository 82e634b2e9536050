"""The call session's write operations (start, turn, draft, finish, ticket), applied to the database either
live or when the journal is replayed. Each is idempotent where a replay may repeat it; filing is idempotent
per call id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from callbot.config import Settings
from callbot.store.database import UNREACHABLE
from callbot.store.journal import JournalBatch, JournalOp
from callbot.store.models import AuditEntry, Call, Ticket, Turn, as_utc, utcnow
from callbot.ticket_numbers import new_ticket_number
from callbot.store.routing import Router, resolve_place
from callbot.store.units import unit_exists
from callbot.types import Escalation, Speaker, TicketDraft, TurnKind

log = logging.getLogger(__name__)

CRASHED = "crashed"  # reason of a ticket filed by recovery for a call whose process died


class CallOperations:
    def __init__(self, settings: Settings, router: Router) -> None:
        self.settings = settings
        self.router = router
        self._apply: dict[str, Callable[[Session, str, JournalOp], Any]] = {
            "start_call": self._start_call, "add_turn": self._add_turn, "save_draft": self._save_draft,
            "finish_call": self._finish_call, "file_ticket": self._file_ticket,
        }

    def apply(self, session: Session, call_id: str, op: JournalOp) -> Any:
        return self._apply[op["op"]](session, call_id, op)

    def replay(self, session: Session, batch: JournalBatch) -> list[str]:
        """Apply a claimed journal file in ``session`` (not committed); an operation the database refuses
        for any reason but being unreachable is set aside and the rest applied again. Returns the numbers of
        the tickets filed."""
        while True:
            numbers: list[str] = []
            for index, (_, op) in enumerate(batch.entries):
                try:
                    result = self.apply(session, op["call_id"], op)
                    session.flush()
                except UNREACHABLE:
                    raise
                except Exception as exc:  # noqa: BLE001  (a refused operation must not block its call)
                    session.rollback()
                    batch.reject(index, f"refused by the database ({exc.__class__.__name__})")
                    break
                if op["op"] == "file_ticket":
                    numbers.append(result)
            else:
                return numbers

    # --- the operations ------------------------------------------------------------------------------
    def call_row(self, session: Session, call_id: str, op: JournalOp) -> Call:
        call = session.exec(select(Call).where(Call.call_id == call_id)).first()
        if call is None:
            started = op.get("started_at") or op.get("at") or op.get("filed_at") or op.get("ended_at")
            call = Call(call_id=call_id, locale=op.get("locale") or "vi",
                        started_at=as_utc(datetime.fromisoformat(started)) if started else utcnow())
            session.add(call)
            session.flush()
        return call

    def _start_call(self, session: Session, call_id: str, op: JournalOp) -> None:
        call = self.call_row(session, call_id, op)
        call.caller_id = op["caller_id"]
        call.locale = op["locale"]
        call.started_at = as_utc(datetime.fromisoformat(op["started_at"]))
        for name in ("worker_id", "incarnation", "recording_path"):
            if op.get(name):
                setattr(call, name, op[name])
        session.add(call)

    def _add_turn(self, session: Session, call_id: str, op: JournalOp) -> None:
        self.call_row(session, call_id, op)
        last = session.exec(select(func.max(Turn.seq)).where(Turn.call_id == call_id)).one()
        session.add(Turn(
            call_id=call_id, seq=(last or 0) + 1, speaker=Speaker(op["speaker"]), text=op["text"],
            confidence=op["confidence"], start=op["start"], end=op["end"], kind=TurnKind(op["kind"]),
            words=op.get("words"), latency_ms=op.get("latency_ms"),
        ))

    def _save_draft(self, session: Session, call_id: str, op: JournalOp) -> None:
        call = self.call_row(session, call_id, op)
        call.draft = op["draft"]
        call.clips = list(op.get("clips") or []) or None
        session.add(call)

    def _finish_call(self, session: Session, call_id: str, op: JournalOp) -> None:
        call = self.call_row(session, call_id, op)
        call.outcome = op["outcome"]
        call.ended_at = as_utc(datetime.fromisoformat(op["ended_at"]))
        if op.get("recording_path"):
            call.recording_path = op["recording_path"]
        session.add(call)

    def _file_ticket(self, session: Session, call_id: str, op: JournalOp) -> str:
        draft = op["draft"]
        existing = session.exec(select(Ticket).where(Ticket.call_id == call_id)).first()
        if existing is not None:
            if existing.reason == CRASHED and op.get("reason") != CRASHED:
                return self._supersede(session, existing, op)
            if existing.escalation == Escalation.operator and draft.get("escalation") == Escalation.callback:
                self._owe_callback(session, existing, draft)
            return existing.number
        call = self.call_row(session, call_id, {**op, "locale": draft.get("locale")})
        if draft.get("caller_id") and not call.caller_id:
            call.caller_id = draft["caller_id"]
        if op.get("recording_path") and not call.recording_path:
            call.recording_path = op["recording_path"]
        session.add(call)
        number = self._free_number(session, op["number"])
        filed_at = as_utc(datetime.fromisoformat(op["filed_at"]))
        session.add(Ticket(number=number, call_id=call_id, caller_id=draft.get("caller_id"),
                           locale=draft.get("locale") or "vi", created_at=filed_at, updated_at=filed_at,
                           **self._captured(session, op)))
        session.flush()
        return number

    def _captured(self, session: Session, op: JournalOp) -> dict[str, Any]:
        """The ticket's columns that come from what the call captured."""
        draft = op["draft"]
        place = resolve_place(draft.get("ward_code"), draft.get("province_code"), self.settings.default_province)
        category = draft.get("category") or "other"
        return {
            "name": draft.get("name"), "anonymous": bool(draft.get("anonymous")),
            "address_text": draft.get("address_text"),
            "ward_code": place.ward_code, "ward_name": draft.get("ward_name") or place.ward_name,
            "province_code": place.province_code, "province_name": draft.get("province_name") or place.province_name,
            "category": category, "priority": draft.get("priority") or "normal", "need_text": draft.get("need_text"),
            "outcome": draft.get("outcome") or "partial", "reason": op.get("reason"),
            "escalation": draft.get("escalation"),
            "unit_code": self.router.route(category=category, place=place,
                                           exists=lambda code: unit_exists(session, code=code)),
            "needs_transcription": bool(draft.get("needs_transcription")),
            "clips": op.get("clips") or None, "notes": draft.get("notes") or None,
        }

    def _supersede(self, session: Session, ticket: Ticket, op: JournalOp) -> str:
        """Recovery took a live call for dead (its process stopped answering the database) and filed it as
        crashed; the call's own filing wins: its values, and the number the caller heard, each change audited."""
        now, target = utcnow(), ticket.number
        changes = self._captured(session, op)
        changes["number"] = self._free_number(session, op["number"]) if op["number"] != ticket.number else op["number"]
        for name, value in changes.items():
            old = getattr(ticket, name)
            if old == value:
                continue
            setattr(ticket, name, value)
            session.add(AuditEntry(at=now, actor="system", action="ticket.refile", target_type="ticket",
                                   target_id=target, field=name, old_value=None if old is None else str(old),
                                   new_value=None if value is None else str(value)))
        ticket.updated_at = now
        session.add(ticket)
        session.flush()
        log.warning("call %s: its own filing replaced the ticket recovery had filed for it", ticket.call_id)
        return ticket.number

    def _owe_callback(self, session: Session, ticket: Ticket, draft: dict[str, Any]) -> None:
        """The call was filed for a transfer that then found nobody: it now owes the caller a call-back
        (audited like a supervisor's change, so the ticket's history shows it)."""
        now = utcnow()
        for name, value in (("escalation", Escalation.callback.value), ("notes", draft.get("notes") or None)):
            old = getattr(ticket, name)
            if old == value:
                continue
            setattr(ticket, name, value)
            if name == "escalation":
                session.add(AuditEntry(at=now, actor="callbot", action="ticket.update", target_type="ticket",
                                       target_id=ticket.number, field=name, old_value=str(old), new_value=value))
        ticket.updated_at = now
        session.add(ticket)
        session.flush()

    def _free_number(self, session: Session, number: str) -> str:
        """``number`` unless another ticket has it (1 in 10^7 per ticket); the audit log records a change."""
        if session.exec(select(Ticket.id).where(Ticket.number == number)).first() is None:
            return number
        taken = number
        while session.exec(select(Ticket.id).where(Ticket.number == number)).first() is not None:
            number = new_ticket_number()
        session.add(AuditEntry(actor="system", action="renumber", target_type="ticket", target_id=number,
                               field="number", old_value=taken, new_value=number))
        return number


def draft_dict(draft: TicketDraft) -> dict[str, Any]:
    return {
        "call_id": draft.call_id, "locale": draft.locale, "outcome": _value(draft.outcome),
        "caller_id": draft.caller_id, "name": draft.name, "anonymous": draft.anonymous,
        "address_text": draft.address_text,
        "ward_code": draft.ward_code, "ward_name": draft.ward_name, "province_code": draft.province_code,
        "province_name": draft.province_name, "need_text": draft.need_text, "category": _value(draft.category),
        "priority": _value(draft.priority), "escalation": _value(draft.escalation),
        "needs_transcription": draft.needs_transcription, "notes": list(draft.notes),
    }


def _value(item: Any) -> Any:
    return getattr(item, "value", item)
