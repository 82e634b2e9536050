"""Vietnamese phone numbers: every written form a contact list holds becomes one E.164 number; anything else is
refused with a reason that does not repeat the number."""

from __future__ import annotations

import pytest

from callbot.campaign.numbers import InvalidPhoneNumber, dial_string, national_form, normalize_number


@pytest.mark.parametrize("written", [
    "0912345678", "0912 345 678", "091-234-5678", "091.234.5678", "+84912345678", "+84 912 345 678",
    "(+84) 912-345-678", "84912345678", "0084912345678", " 0912345678 ",
])
def test_mobile_forms_normalize_to_e164(written: str) -> None:
    assert normalize_number(written) == "+84912345678"


@pytest.mark.parametrize(("written", "expected"), [
    ("0338123456", "+84338123456"), ("0562123456", "+84562123456"), ("0701234567", "+84701234567"),
    ("0812345678", "+84812345678"), ("02438221234", "+842438221234"), ("+84 24 3822 1234", "+842438221234"),
    ("842838221234", "+842838221234"),
])
def test_mobile_prefixes_and_landlines(written: str, expected: str) -> None:
    assert normalize_number(written) == expected


@pytest.mark.parametrize(("written", "reason"), [
    ("", "empty"), ("1022", "expected 0xxxxxxxxx"), ("091234567", "wrong length"), ("09123456789", "wrong length"),
    ("+14155550100", "not a Vietnamese number"), ("0014155550100", "not a Vietnamese number"),
    ("0112345678", "not a Vietnamese mobile"), ("09123x5678", "digits only"), ("024382212", "wrong length"),
])
def test_refused_with_a_reason(written: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        normalize_number(written)
    assert reason in str(refused.value)
    assert not written or written.replace(" ", "") not in str(refused.value)  # the number is not repeated


def test_dial_forms() -> None:
    assert national_form("+84912345678") == "0912345678"
    assert dial_string("+84912345678", "national") == "0912345678"
    assert dial_string("+84912345678", "e164") == "+84912345678"
