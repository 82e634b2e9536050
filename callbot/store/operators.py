"""Operators and their status, pushed by the PBX/ACD through the API (or seeded from the settings): the bot
transfers to the one available the longest."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, select

from callbot.store.models import Operator, utcnow
from callbot.types import OperatorStatus


def seed_operators(session: Session, *, uris: Iterable[str]) -> None:
    """The configured operators not yet known, as available (not committed)."""
    known = set(session.exec(select(Operator.uri)).all())
    for uri in uris:
        if uri not in known:
            session.add(Operator(uri=uri, status=OperatorStatus.available))


def free_operator(session: Session) -> Operator | None:
    """The operator available the longest, or None."""
    return session.exec(
        select(Operator).where(Operator.status == OperatorStatus.available).order_by(Operator.updated_at)
    ).first()


def set_operator_status(session: Session, *, uri: str, status: OperatorStatus | str,
                        name: str | None = None) -> Operator:
    """Record an operator's status (a new URI becomes a new operator); committed."""
    operator = session.exec(select(Operator).where(Operator.uri == uri)).first()
    if operator is None:
        operator = Operator(uri=uri)
    operator.status = OperatorStatus(status)
    if name is not None:
        operator.name = name
    operator.updated_at = utcnow()
    session.add(operator)
    session.commit()
    session.refresh(operator)
    return operator


def operator_known(session: Session, *, uri: str) -> bool:
    return session.exec(select(Operator.id).where(Operator.uri == uri)).first() is not None


def list_operators(session: Session) -> list[Operator]:
    return list(session.exec(select(Operator).order_by(Operator.uri)).all())
