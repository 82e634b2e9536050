"""Ticket numbers: 7 random digits and a Damm check digit, shown "NNNN-NNNN".

Digits only (letters are hard to read over the phone in Vietnamese); the Damm check digit catches every
single-digit error and every swap of adjacent digits, the two mistakes callers make reading a number back.
Random rather than sequential so a number reveals nothing about how many tickets exist.
"""

from __future__ import annotations

import re
import secrets

_DAMM_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
NUMBER_DIGITS = 8


class InvalidTicketNumber(ValueError):
    """Not eight digits, or the check digit does not match."""


def damm_check_digit(digits: str) -> int:
    interim = 0
    for ch in digits:
        interim = _DAMM_TABLE[interim][int(ch)]
    return interim


def new_ticket_number() -> str:
    """A fresh number as 8 plain digits (the first never 0, so it reads the same with or without it)."""
    body = str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(NUMBER_DIGITS - 2))
    return body + str(damm_check_digit(body))


def is_valid_ticket_number(digits: str) -> bool:
    return len(digits) == NUMBER_DIGITS and digits.isdigit() and damm_check_digit(digits) == 0


def parse_ticket_number(text: str) -> str:
    """Accept "1234-5678", "1234 5678" or "12345678"; return the 8 digits or raise InvalidTicketNumber."""
    digits = re.sub(r"[\s\-.]", "", text or "")
    if not is_valid_ticket_number(digits):
        raise InvalidTicketNumber(f"not a valid ticket number: {text!r}")
    return digits


def format_ticket_number(digits: str) -> str:
    return f"{digits[:4]}-{digits[4:]}"
