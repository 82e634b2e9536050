"""The do-not-call list: numbers no campaign may dial (checked when a campaign is created and again at every
claim, so a number added while a campaign runs is never called after). Changes are audit-logged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

from callbot.store.models import AuditEntry, DoNotCall, utcnow

CHUNK = 500  # numbers per IN (...) query


def listed(session: Session, numbers: Iterable[str]) -> set[str]:
    """Which of these (E.164) numbers are on the list."""
    wanted = list(dict.fromkeys(numbers))
    found: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        found.update(session.exec(select(DoNotCall.number).where(col(DoNotCall.number).in_(chunk))).all())
    return found


def add_numbers(session: Session, *, numbers: Sequence[str], actor: str) -> list[str]:
    """Add (E.164) numbers; returns those that were not listed yet. Committed, each audit-logged."""
    known = listed(session, numbers)
    added = [n for n in dict.fromkeys(numbers) if n not in known]
    now = utcnow()
    for number in added:
        session.add(DoNotCall(number=number, added_by=actor, added_at=now))
        session.add(AuditEntry(at=now, actor=actor, action="do_not_call.add", target_type="do_not_call",
                               target_id=number))
    session.commit()
    return added


def remove_number(session: Session, *, number: str, actor: str) -> bool:
    row = session.get(DoNotCall, number)
    if row is None:
        return False
    session.delete(row)
    session.add(AuditEntry(actor=actor, action="do_not_call.remove", target_type="do_not_call", target_id=number))
    session.commit()
    return True


def list_numbers(session: Session, *, offset: int = 0, limit: int = 1000) -> tuple[list[DoNotCall], int]:
    """Newest first, and how many there are."""
    total = session.exec(select(func.count()).select_from(DoNotCall)).one()
    rows = session.exec(select(DoNotCall).order_by(col(DoNotCall.added_at).desc()).offset(offset).limit(limit)).all()
    return list(rows), total
