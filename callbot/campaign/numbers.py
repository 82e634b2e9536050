"""Vietnamese phone numbers: what a contact list may hold, normalized to one form, and how it is dialled.

Accepted: the national form ``0912345678`` (mobile: 0 + 9 digits starting 3/5/7/8/9) or ``02438221234``
(landline: 0 + 10 digits starting 2), and the international forms ``+84...``, ``84...`` and ``0084...``, with
any spaces, dots, dashes or parentheses. Stored as E.164 (``+84912345678``); dialled in the national or the
E.164 form (``CALLBOT_OUTBOUND_NUMBER_FORMAT``). Short codes and other countries are refused: a campaign calls
citizens of this hotline's area.
"""

from __future__ import annotations

import re
from typing import Literal

COUNTRY_CODE = "84"
_SEPARATORS = re.compile(r"[\s.\-()/]")
MOBILE_FIRST_DIGITS = "35789"  # 03x, 05x, 07x, 08x, 09x since the 2018 renumbering
LANDLINE_FIRST_DIGIT = "2"  # 02x area codes, 10 digits after the trunk 0


class InvalidPhoneNumber(ValueError):
    """Not a Vietnamese phone number; the message says why (never the number itself: citizen data)."""


def normalize_number(text: str) -> str:
    """``0912 345 678`` / ``+84 912-345-678`` / ``84912345678`` -> ``+84912345678``; else InvalidPhoneNumber."""
    raw = _SEPARATORS.sub("", text or "")
    if not raw:
        raise InvalidPhoneNumber("empty number")
    if raw.startswith("+"):
        digits = raw[1:]
        if not digits.startswith(COUNTRY_CODE):
            raise InvalidPhoneNumber("not a Vietnamese number (only +84 numbers are called)")
        national = digits[len(COUNTRY_CODE):]
    elif raw.startswith("00"):
        if not raw[2:].startswith(COUNTRY_CODE):
            raise InvalidPhoneNumber("not a Vietnamese number (only +84 numbers are called)")
        national = raw[2 + len(COUNTRY_CODE):]
    elif raw.startswith("0"):
        national = raw[1:]
    elif raw.startswith(COUNTRY_CODE) and len(raw) in (11, 12):
        national = raw[len(COUNTRY_CODE):]
    else:
        raise InvalidPhoneNumber("expected 0xxxxxxxxx or +84xxxxxxxxx")
    if not national.isdigit():
        raise InvalidPhoneNumber("a phone number has digits only")
    if national[:1] in MOBILE_FIRST_DIGITS and len(national) == 9:
        return f"+{COUNTRY_CODE}{national}"
    if national[:1] == LANDLINE_FIRST_DIGIT and len(national) == 10:
        return f"+{COUNTRY_CODE}{national}"
    if national[:1] in MOBILE_FIRST_DIGITS + LANDLINE_FIRST_DIGIT:
        raise InvalidPhoneNumber(f"wrong length ({len(national) + 1} digits in the national form)")
    raise InvalidPhoneNumber("not a Vietnamese mobile (03/05/07/08/09) or landline (02) number")


def national_form(number: str) -> str:
    """``+84912345678`` -> ``0912345678``."""
    return "0" + number[1 + len(COUNTRY_CODE):] if number.startswith(f"+{COUNTRY_CODE}") else number


def dial_string(number: str, style: Literal["national", "e164"]) -> str:
    """What goes into the request URI's user part."""
    return national_form(number) if style == "national" else number
