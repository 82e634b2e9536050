"""Caller names (callbot.dialogue.names)."""

from __future__ import annotations

import pytest

from callbot.dialogue.understanding import parse_name


@pytest.mark.parametrize(
    ("heard", "name"),
    [
        ("nguyễn văn an", "Nguyễn Văn An"),
        ("tôi tên là nguyễn văn an", "Nguyễn Văn An"),
        ("tên tôi là trần thị bích ngọc", "Trần Thị Bích Ngọc"),
        ("tôi là lê minh", "Lê Minh"),
        ("em là phạm thu trang ạ", "Phạm Thu Trang"),
        ("họ tên đặng văn khoa", "Đặng Văn Khoa"),
        ("họ và tên là hồ thị xuân", "Hồ Thị Xuân"),
        ("dạ alo à tên tôi là ờ trần thị bích ngọc ạ", "Trần Thị Bích Ngọc"),
        ("à ờ nguyễn nguyễn văn an", "Nguyễn Văn An"),
        ("đỗ thị mơ", "Đỗ Thị Mơ"),
        ("nguyễn văn hai", "Nguyễn Văn Hai"),  # a number word inside a real name is kept
        ("tôi là nguyễn văn an ở phường láng", "Nguyễn Văn An"),  # the name ends where the address starts
        ("tên tôi là lê minh cần hỗ trợ", "Lê Minh"),
    ],
)
def test_vietnamese_names(heard: str, name: str, lexicon_vi) -> None:
    assert parse_name(heard, lexicon_vi) == name


@pytest.mark.parametrize(
    "heard",
    [
        "",
        "à ờ",
        "tôi không biết",
        "số mười hai",
        "một hai ba",
        "tôi cần hỗ trợ gạo",
        "nguyễn văn an nguyễn văn bình trần thị cúc",  # too long to be one name
        "nghiênggg",  # not a Vietnamese syllable
        "abc123",
    ],
)
def test_vietnamese_not_names(heard: str, lexicon_vi) -> None:
    assert parse_name(heard, lexicon_vi) is None


@pytest.mark.parametrize(
    ("heard", "name"),
    [
        ("my name is john smith", "John Smith"),
        ("uh hello this is mary jones", "Mary Jones"),
        ("i'm david miller", "David Miller"),
        ("anna-maria lopez", "Anna-Maria Lopez"),
        ("my name is john smith from hanoi", "John Smith"),
    ],
)
def test_english_names(heard: str, name: str, lexicon_en) -> None:
    assert parse_name(heard, lexicon_en) == name


@pytest.mark.parametrize("heard", ["i don't know", "hello", "what", "twelve", "i need help", "hi there"])
def test_english_not_names(heard: str, lexicon_en) -> None:
    assert parse_name(heard, lexicon_en) is None


def test_one_word_is_a_name_only_after_a_carrier(lexicon_vi, lexicon_en) -> None:
    assert parse_name("an", lexicon_vi) is None
    assert parse_name("tôi tên là an", lexicon_vi) == "An"
    assert parse_name("my name is john", lexicon_en) == "John"
