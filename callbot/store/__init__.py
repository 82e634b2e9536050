"""Tickets, calls, turns, operators, responsible units, users and the audit log (knows nothing of audio)."""

from callbot.store.accounts import AccountError, Accounts, Principal
from callbot.store.models import (
    CallPublic,
    OperatorPublic,
    OperatorStatus,
    Role,
    TicketPublic,
    TicketStatus,
    TicketUpdate,
    TurnKind,
)
from callbot.store.numbers import format_ticket_number, parse_ticket_number
from callbot.store.ticket_store import InvalidChange, StoreError, TicketFilter, TicketNotFound, TicketStore

__all__ = [
    "AccountError", "Accounts", "CallPublic", "InvalidChange", "OperatorPublic", "OperatorStatus", "Principal",
    "Role", "StoreError", "TicketFilter", "TicketNotFound", "TicketPublic", "TicketStatus", "TicketStore",
    "TicketUpdate", "TurnKind", "format_ticket_number", "parse_ticket_number",
]
