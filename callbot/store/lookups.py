"""Ticket status by phone: what a caller hears of a ticket, rate-limited per caller number and audit-logged.

Every lookup (found or not, or refused by the limit) is one audit entry ``ticket.phone_lookup``: the ticket
number keyed as the target, the outcome, and the caller as a keyed hash (a phone number is citizen data; the
hash still lets the limit count one caller's lookups). Callers without a number share one limit.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from callbot.store.models import AuditEntry, as_utc, utcnow
from callbot.store.tickets import caller_status

LOOKUP_ACTION = "ticket.phone_lookup"
ANONYMOUS_CALLER = "anonymous"


@dataclass(frozen=True, slots=True)
class PhoneLookup:
    result: Literal["found", "not_found", "limited"]
    number: str
    status: str | None = None
    unit: str | None = None
    updated: date | None = None  # the day of the last update, local


def caller_key(caller_id: str | None, secret: str) -> str:
    """The caller as the audit log keeps them: an HMAC of the number (never the number itself)."""
    if not caller_id:
        return ANONYMOUS_CALLER
    return "caller:" + hmac.new(secret.encode(), caller_id.encode(), hashlib.sha256).hexdigest()[:24]


def phone_lookup(session: Session, *, number: str, caller: str, limit: int, window_s: int, zone: str,
                 actor: str, now: datetime | None = None) -> PhoneLookup:
    """``number`` (8 digits, check digit valid) for ``caller`` (``caller_key``); commits its audit entry."""
    now = as_utc(now) if now is not None else utcnow()
    since = now - timedelta(seconds=window_s)
    recent = session.exec(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == LOOKUP_ACTION, AuditEntry.field == caller, col(AuditEntry.at) >= since)).one()
    if recent >= limit:
        answer = PhoneLookup("limited", number)
    else:
        view = caller_status(session, number=number)
        if view is None:
            answer = PhoneLookup("not_found", number)
        else:
            updated = as_utc(view.ticket.updated_at).astimezone(ZoneInfo(zone)).date()
            answer = PhoneLookup("found", number, view.ticket.status.value, view.unit_name, updated)
    session.add(AuditEntry(at=now, actor=actor, action=LOOKUP_ACTION, target_type="ticket", target_id=number,
                           field=caller, new_value=answer.result))
    session.commit()
    return answer
