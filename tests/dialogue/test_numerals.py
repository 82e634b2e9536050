"""Spoken numbers to digits (callbot.dialogue.numerals)."""

from __future__ import annotations

import pytest

from callbot.dialogue.numerals import numbers_to_digits, parse_english_number, parse_vietnamese_number
from callbot.dialogue.text import words


@pytest.mark.parametrize(
    ("spoken", "value"),
    [
        ("không", 0),
        ("năm", 5),
        ("mười", 10),
        ("mười một", 11),
        ("mười lăm", 15),
        ("mười năm", 15),
        ("hai mươi", 20),
        ("hai mươi mốt", 21),
        ("hai mươi tư", 24),
        ("ba mươi tư", 34),
        ("ba mươi bốn", 34),
        ("chín mươi lăm", 95),
        ("hai mốt", 21),
        ("ba lăm", 35),
        ("một trăm", 100),
        ("một trăm linh năm", 105),
        ("một trăm lẻ một", 101),
        ("hai trăm mười", 210),
        ("hai trăm năm", 250),
        ("ba trăm bốn mươi lăm", 345),
        ("một nghìn", 1000),
        ("hai nghìn tư", 2400),
        ("hai nghìn không trăm hai mươi lăm", 2025),
        ("mười hai ngàn", 12000),
        ("một triệu hai trăm nghìn", 1_200_000),
    ],
)
def test_vietnamese_numbers(spoken: str, value: int) -> None:
    assert parse_vietnamese_number(words(spoken)) == value


@pytest.mark.parametrize("spoken", ["mươi", "linh năm", "mốt", "trăm trăm", "mười tư"])
def test_vietnamese_non_numbers(spoken: str) -> None:
    assert parse_vietnamese_number(words(spoken)) is None


@pytest.mark.parametrize(
    ("spoken", "value"),
    [
        ("zero", 0),
        ("twelve", 12),
        ("thirty four", 34),
        ("one hundred and five", 105),
        ("two thousand and twenty five", 2025),
        ("nine hundred", 900),
    ],
)
def test_english_numbers(spoken: str, value: int) -> None:
    assert parse_english_number(words(spoken)) == value


KEYWORDS = {"số", "ngõ", "ngách", "hẻm", "quận", "phường", "tổ"}
SLASHES = {"xẹt", "trên"}


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("số mười hai ngõ ba mươi tư", "số 12 ngõ 34"),
        ("số một trăm linh năm phố huế", "số 105 phố huế"),
        ("hẻm mười hai xẹt ba", "hẻm 12/3"),
        ("số một hai ba", "số 123"),
        ("số không chín một hai", "số 0912"),
        ("ngõ ba", "ngõ 3"),
        ("tổ năm", "tổ 5"),
        # names made of number words stay names: no numbering keyword, not clearly a number
        ("phố hai bà trưng", "phố hai bà trưng"),
        ("đường ba tháng hai", "đường ba tháng hai"),
        ("nhà tôi ở gần chợ", "nhà tôi ở gần chợ"),
    ],
)
def test_vietnamese_text(spoken: str, written: str) -> None:
    assert " ".join(numbers_to_digits(words(spoken), "vi", KEYWORDS, SLASHES)) == written


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("twelve thirty four baker street", "1234 baker street"),
        ("one hundred and five main road", "105 main road"),
        ("flat two", "flat 2"),
        ("forty two baker street", "42 baker street"),
        ("twelve slash three lane", "12/3 lane"),
        ("lang street", "lang street"),
    ],
)
def test_english_text(spoken: str, written: str) -> None:
    assert " ".join(numbers_to_digits(words(spoken), "en", (), {"slash"})) == written
