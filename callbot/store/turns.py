"""A call's turns (its transcript): who spoke, what was said or pressed, when, how sure the recognizer was."""

from __future__ import annotations

from sqlmodel import Session, select

from callbot.store.models import Turn


def turns_of(session: Session, *, call_id: str) -> list[Turn]:
    """In the order they happened."""
    return list(session.exec(select(Turn).where(Turn.call_id == call_id).order_by(Turn.seq)).all())
