"""Ticket numbers as the store knows them: the pure code lives in ``callbot.ticket_numbers`` (the dialogue checks
a keyed number without importing the store)."""

from callbot.ticket_numbers import (
    NUMBER_DIGITS,
    InvalidTicketNumber,
    damm_check_digit,
    format_ticket_number,
    is_valid_ticket_number,
    new_ticket_number,
    parse_ticket_number,
)

__all__ = ["NUMBER_DIGITS", "InvalidTicketNumber", "damm_check_digit", "format_ticket_number",
           "is_valid_ticket_number", "new_ticket_number", "parse_ticket_number"]
