"""Tickets, calls, turns, operators, responsible units, users and the audit log (knows nothing of audio).

``open_store(settings)`` gives a process its ``Store``: the database, the ``CallLog`` a live call writes
through, and the accounts. Reads and supervisor edits are functions of a session, one module per resource:
``tickets``, ``calls``, ``turns``, ``units``, ``operators``, ``audit``, ``stats``, ``retention``, ``workers``.
"""

from callbot.store.accounts import AccountError, Accounts, Principal
from callbot.store.call_log import CallLog, ReplayReport
from callbot.store.database import UNREACHABLE, Database
from callbot.store.errors import CallNotFound, InvalidChange, StoreError, TicketNotFound
from callbot.store.models import Role, TicketStatus, TicketUpdate
from callbot.ticket_numbers import format_ticket_number, parse_ticket_number
from callbot.store.opening import Store, open_store
from callbot.store.tickets import TicketFilter

__all__ = [
    "UNREACHABLE", "AccountError", "Accounts", "CallLog", "CallNotFound", "Database", "InvalidChange", "Principal",
    "ReplayReport", "Role", "Store", "StoreError", "TicketFilter", "TicketNotFound", "TicketStatus", "TicketUpdate",
    "format_ticket_number", "open_store", "parse_ticket_number",
]
