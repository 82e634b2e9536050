"""Tickets as supervisors see and correct them: the queue (filters, text search, pages), one ticket with its
call and transcript, a supervisor's change (audited field by field), the caller's status lookup, the tickets
approved for tuning. Functions take a session; the API maps what they return to its response models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from callbot.store.errors import InvalidChange, TicketNotFound
from callbot.store.models import (
    ALLOWED_TRANSITIONS,
    AuditEntry,
    Call,
    Ticket,
    TicketStatus,
    TicketUpdate,
    Turn,
    as_utc,
    utcnow,
)
from callbot.store.routing import resolve_place
from callbot.store.turns import turns_of
from callbot.store.units import unit_exists, unit_names

T = TypeVar("T")

# Columns a ticket cannot be without: a change may set them, never empty them.
REQUIRED_TICKET_FIELDS = frozenset({"status", "category", "priority", "needs_transcription", "approved_for_tuning"})


@dataclass(slots=True)
class Rows(Generic[T]):
    """One page of a query's rows and how many rows match in all."""

    items: list[T]
    total: int


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket row and the name of the unit it is routed to."""

    ticket: Ticket
    unit_name: str | None = None


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A ticket with its call and the call's turns (the ticket page, a fixture export)."""

    ticket: Ticket
    unit_name: str | None
    call: Call | None
    turns: list[Turn]

    @property
    def clips(self) -> list[str]:
        return list(self.ticket.clips or [])


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


def ticket_views(session: Session, tickets: Sequence[Ticket]) -> list[TicketView]:
    names = unit_names(session, codes=(t.unit_code for t in tickets))
    return [TicketView(t, names.get(t.unit_code or "")) for t in tickets]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_tickets(session: Session, *, filters: TicketFilter) -> Rows[TicketView]:
    """Newest first."""
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
    total = session.exec(select(func.count()).select_from(Ticket).where(*conditions)).one()
    rows = session.exec(
        select(Ticket).where(*conditions).order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .offset(filters.offset).limit(filters.limit)
    ).all()
    return Rows(items=ticket_views(session, rows), total=total)


def find_ticket(session: Session, *, number: str) -> Ticket | None:
    return session.exec(select(Ticket).where(Ticket.number == number)).first()


def _ticket_row(session: Session, number: str) -> Ticket:
    ticket = find_ticket(session, number=number)
    if ticket is None:
        raise TicketNotFound(f"no ticket {number}")
    return ticket


def get_ticket(session: Session, *, number: str) -> TicketRecord:
    ticket = _ticket_row(session, number)
    call = session.exec(select(Call).where(Call.call_id == ticket.call_id)).first()
    view = ticket_views(session, [ticket])[0]
    return TicketRecord(ticket=ticket, unit_name=view.unit_name, call=call,
                        turns=turns_of(session, call_id=ticket.call_id))


def caller_status(session: Session, *, number: str) -> TicketView | None:
    """What a caller may learn of a ticket: read its status and the unit's name, nothing else."""
    ticket = find_ticket(session, number=number)
    return ticket_views(session, [ticket])[0] if ticket is not None else None


def tickets_approved_for_tuning(session: Session, *, offset: int = 0, limit: int = 100) -> Rows[Ticket]:
    """Newest approval first."""
    approved = col(Ticket.tuning_approved_at).is_not(None)
    total = session.exec(select(func.count()).select_from(Ticket).where(approved)).one()
    rows = session.exec(select(Ticket).where(approved).order_by(col(Ticket.tuning_approved_at).desc())
                        .offset(offset).limit(limit)).all()
    return Rows(items=list(rows), total=total)


def update_ticket(session: Session, *, number: str, update: TicketUpdate, actor: str) -> TicketView:
    """Apply a supervisor's change and commit; every changed field gets an audit entry (who, when, old, new).
    ``approved_for_tuning`` records who approved the ticket as a tuning fixture, and when."""
    changes = update.model_dump(exclude_unset=True)
    for required in REQUIRED_TICKET_FIELDS & changes.keys():
        if changes[required] is None:  # TicketUpdate refuses this already; the store never writes it
            raise InvalidChange(f"{required} may not be empty")
    ticket = _ticket_row(session, number)
    if "status" in changes:  # every check before the first change: a refused change leaves nothing pending
        new_status = TicketStatus(changes["status"])
        current = TicketStatus(ticket.status)
        if new_status != current and new_status not in ALLOWED_TRANSITIONS[current]:
            raise InvalidChange(f"status cannot go from {current.value} to {new_status.value}")
    if changes.get("unit_code") is not None and not unit_exists(session, code=changes["unit_code"]):
        raise InvalidChange(f"no responsible unit {changes['unit_code']}")
    if "approved_for_tuning" in changes:
        approved = changes.pop("approved_for_tuning")
        if approved != (ticket.tuning_approved_at is not None):
            ticket.tuning_approved_by, ticket.tuning_approved_at = (actor, utcnow()) if approved else (None, None)
            session.add(AuditEntry(actor=actor, action="ticket.update", target_type="ticket",
                                   target_id=ticket.number, field="approved_for_tuning",
                                   old_value=str(not approved).lower(), new_value=str(approved).lower()))
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
    return ticket_views(session, [ticket])[0]


def counts_by_status(session: Session) -> dict[str, int]:
    """Every status, with 0 for those no ticket has."""
    rows = session.exec(select(Ticket.status, func.count()).group_by(Ticket.status)).all()
    counts = {s.value: 0 for s in TicketStatus}
    counts.update({TicketStatus(name).value: count for name, count in rows})
    return counts


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))
