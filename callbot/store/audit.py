"""The audit log: who did what to which record, when, and the value before and after."""

from __future__ import annotations

from sqlmodel import Session, col, select

from callbot.store.models import AuditEntry


def record_entry(session: Session, *, actor: str, action: str, target_type: str, target_id: str,
                 field: str | None = None, old_value: str | None = None,
                 new_value: str | None = None) -> None:
    """One entry, committed before this returns (an audited view is logged before its bytes leave)."""
    session.add(AuditEntry(actor=actor, action=action, target_type=target_type, target_id=target_id,
                           field=field, old_value=old_value, new_value=new_value))
    session.commit()


def list_entries(session: Session, *, target_id: str | None = None, action: str | None = None,
                 limit: int = 200) -> list[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(session.exec(query).all())
