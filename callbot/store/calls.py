"""Calls as supervisors see them: the list (newest first, with each call's ticket number), one call with its
turns and ticket, and where its recording is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from callbot.store.errors import CallNotFound
from callbot.store.models import Call, Ticket, Turn, as_utc
from callbot.store.tickets import Rows, TicketView, ticket_views
from callbot.store.turns import turns_of


@dataclass(frozen=True, slots=True)
class CallView:
    """A call row and the number of the ticket it filed, if any."""

    call: Call
    ticket_number: str | None = None


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A call with its turns and its ticket (the call's page)."""

    call: Call
    turns: list[Turn]
    ticket: TicketView | None


def list_calls(session: Session, *, offset: int = 0, limit: int = 50, since: datetime | None = None,
               until: datetime | None = None) -> Rows[CallView]:
    """Newest first."""
    conditions = []
    if since:
        conditions.append(Call.started_at >= as_utc(since))
    if until:
        conditions.append(Call.started_at <= as_utc(until))
    total = session.exec(select(func.count()).select_from(Call).where(*conditions)).one()
    rows = session.exec(
        select(Call, Ticket.number).join(Ticket, col(Ticket.call_id) == col(Call.call_id), isouter=True)
        .where(*conditions).order_by(col(Call.started_at).desc(), col(Call.id).desc())
        .offset(offset).limit(limit)
    ).all()
    return Rows(items=[CallView(call, number) for call, number in rows], total=total)


def _call_row(session: Session, call_pk: int) -> Call:
    call = session.get(Call, call_pk)
    if call is None:
        raise CallNotFound(f"no call {call_pk}")
    return call


def get_call(session: Session, *, call_pk: int) -> CallRecord:
    call = _call_row(session, call_pk)
    ticket = session.exec(select(Ticket).where(Ticket.call_id == call.call_id)).first()
    return CallRecord(call=call, turns=turns_of(session, call_id=call.call_id),
                      ticket=ticket_views(session, [ticket])[0] if ticket else None)


def recording_path(session: Session, *, call_pk: int) -> Path | None:
    """Where the call's recording was written (None: no recording, or deleted by retention)."""
    call = _call_row(session, call_pk)
    return Path(call.recording_path) if call.recording_path else None
