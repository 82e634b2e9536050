"""Ticket numbers: the Damm check digit catches what callers get wrong reading a number back."""

from __future__ import annotations

import pytest

from callbot.ticket_numbers import (
    InvalidTicketNumber,
    format_ticket_number,
    is_valid_ticket_number,
    new_ticket_number,
    parse_ticket_number,
)


def test_new_numbers_are_eight_valid_digits() -> None:
    numbers = {new_ticket_number() for _ in range(2000)}
    assert len(numbers) > 1990
    assert all(len(n) == 8 and n.isdigit() and n[0] != "0" and is_valid_ticket_number(n) for n in numbers)


def test_every_single_digit_error_and_adjacent_swap_is_caught() -> None:
    for _ in range(200):
        number = new_ticket_number()
        for position in range(8):
            for digit in "0123456789":
                if digit != number[position]:
                    wrong = number[:position] + digit + number[position + 1:]
                    assert not is_valid_ticket_number(wrong), (number, wrong)
        for position in range(7):
            if number[position] != number[position + 1]:
                swapped = (number[:position] + number[position + 1] + number[position] + number[position + 2:])
                assert not is_valid_ticket_number(swapped), (number, swapped)


def test_parse_and_format() -> None:
    number = new_ticket_number()
    shown = format_ticket_number(number)
    assert shown == f"{number[:4]}-{number[4:]}"
    assert parse_ticket_number(shown) == parse_ticket_number(f" {number[:4]} {number[4:]} ") == number
    for bad in ("", "1234", "abcd-efgh", number[:7] + str((int(number[7]) + 1) % 10), number + "0"):
        with pytest.raises(InvalidTicketNumber):
            parse_ticket_number(bad)
