"""A campaign's contact list: CSV rows ``number[,name][,locale]`` -> contacts, and every row not taken, with
its line number and why (never silently dropped).

- An optional header row (its first cell is not a number: ``number``, ``phone``, ``số điện thoại`` ...) is skipped.
- Numbers are normalized (``callbot.campaign.numbers``); a bad one is reported and skipped.
- A number listed twice is kept once (the first row); the later rows are reported as duplicates.
- ``locale`` is ``vi`` or ``en`` (empty: the campaign's); a name is trimmed, at most 255 characters.
- Blank lines and lines starting with ``#`` are not rows.
Problems name the line and the reason, never the row's content (it is citizen data).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from callbot.campaign.numbers import InvalidPhoneNumber, normalize_number

LOCALES = ("vi", "en")
NAME_MAX = 255
HEADER_WORDS = ("number", "phone", "so", "số", "điện", "dien", "tel", "sđt", "sdt")


@dataclass(frozen=True, slots=True)
class Contact:
    number: str  # E.164
    name: str | None
    locale: str | None  # None: the campaign's
    line: int


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class ContactList:
    contacts: list[Contact] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


class ContactFileError(ValueError):
    """The file as a whole cannot be read (not UTF-8, not CSV)."""


def parse_contacts(data: bytes | str) -> ContactList:
    """Parse a contact file's bytes (UTF-8, with or without a BOM) or text."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ContactFileError(f"not UTF-8 text (byte {exc.start})") from None
    else:
        text = data.removeprefix("\ufeff")
    result = ContactList()
    seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            line = reader.line_num
            cells = [cell.strip() for cell in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if not result.contacts and not result.problems and not seen and _is_header(cells[0]):
                continue
            parsed = _contact(cells, line)
            if isinstance(parsed, RowProblem):
                result.problems.append(parsed)
            elif parsed.number in seen:
                result.problems.append(RowProblem(line, f"duplicate of line {seen[parsed.number]}"))
            else:
                seen[parsed.number] = line
                result.contacts.append(parsed)
    except csv.Error as exc:
        raise ContactFileError(f"line {reader.line_num}: not valid CSV ({exc})") from None
    return result


def _is_header(first: str) -> bool:
    lowered = first.lower()
    return not any(ch.isdigit() for ch in lowered) and any(word in lowered for word in HEADER_WORDS)


def _contact(cells: list[str], line: int) -> Contact | RowProblem:
    if len(cells) > 3:
        return RowProblem(line, f"{len(cells)} columns (expected number[,name][,locale])")
    try:
        number = normalize_number(cells[0])
    except InvalidPhoneNumber as exc:
        return RowProblem(line, str(exc))
    name = cells[1] if len(cells) > 1 and cells[1] else None
    if name is not None and (len(name) > NAME_MAX or not name.isprintable()):
        return RowProblem(line, f"the name is longer than {NAME_MAX} characters or holds control characters")
    locale = cells[2].lower() if len(cells) > 2 and cells[2] else None
    if locale is not None and locale not in LOCALES:
        return RowProblem(line, f"locale must be one of {', '.join(LOCALES)}")
    return Contact(number=number, name=name, locale=locale, line=line)
