"""The contact CSV: number[,name][,locale]; numbers normalized and deduplicated; every row not taken is reported
with its line number and a reason (never its content), never silently dropped."""

from __future__ import annotations

import pytest

from callbot.campaign.contacts import ContactFileError, parse_contacts


def test_rows_header_dedup_and_problems() -> None:
    text = (
        "number,name,locale\n"            # 1 header
        "0912345678,Nguyễn Văn An,vi\n"   # 2
        "\n"                              # 3 blank: not a row
        "+84 987 654 321,Ann Lee,en\n"    # 4
        "0912-345-678,Trùng Số\n"         # 5 duplicate of line 2
        "09123,Bad Number\n"              # 6
        "0338123456,,fr\n"                # 7 bad locale
        "# a comment\n"                   # 8 not a row
        "0338123457\n"                    # 9 number only
        "0338123458,a,vi,extra\n"         # 10 too many columns
        '"0701234567","Trần, Thị Bình"\n'  # 11 quoted comma in the name
    )
    parsed = parse_contacts(text.encode("utf-8"))
    assert [(c.number, c.name, c.locale, c.line) for c in parsed.contacts] == [
        ("+84912345678", "Nguyễn Văn An", "vi", 2),
        ("+84987654321", "Ann Lee", "en", 4),
        ("+84338123457", None, None, 9),
        ("+84701234567", "Trần, Thị Bình", None, 11),
    ]
    assert [str(p) for p in parsed.problems] == [
        "line 5: duplicate of line 2",
        "line 6: wrong length (5 digits in the national form)",
        "line 7: locale must be one of vi, en",
        "line 10: 4 columns (expected number[,name][,locale])",
    ]
    for problem in parsed.problems:  # no citizen data in what is reported
        assert "Trùng" not in problem.reason and "0912" not in problem.reason


def test_bom_and_no_header() -> None:
    parsed = parse_contacts("\ufeff0912345678,An\r\n0987654321,Bình\r\n".encode())
    assert [c.line for c in parsed.contacts] == [1, 2] and not parsed.problems


def test_a_bad_first_row_is_not_taken_for_a_header() -> None:
    parsed = parse_contacts(b"1022,short code\n0912345678\n")
    assert [c.number for c in parsed.contacts] == ["+84912345678"]
    assert [p.line for p in parsed.problems] == [1]


def test_not_text() -> None:
    with pytest.raises(ContactFileError, match="not UTF-8"):
        parse_contacts(b"\xff\xfe\x00garbage")


def test_control_characters_in_a_name() -> None:
    parsed = parse_contacts("0912345678,An\x07\n".encode())
    assert not parsed.contacts and "control characters" in parsed.problems[0].reason
