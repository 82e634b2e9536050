"""Unit tests for callbot eval's arithmetic (``callbot.eval.metrics``): edit distance, WER/CER."""

from __future__ import annotations

import pytest

from callbot.eval.metrics import (
    ErrorCount,
    char_errors,
    edit_distance,
    normalize_text,
    word_errors,
)


@pytest.mark.parametrize(
    ("reference", "hypothesis", "distance"),
    [
        ("", "", 0),
        ("abc", "", 3),
        ("", "ab", 2),
        ("kitten", "sitting", 3),
        ("abc", "abc", 0),
        ("ab", "ba", 2),
    ],
)
def test_edit_distance(reference: str, hypothesis: str, distance: int) -> None:
    assert edit_distance(reference, hypothesis) == distance
    assert edit_distance(list(hypothesis), list(reference)) == distance  # symmetric


def test_word_and_char_errors_normalize_case_punctuation_and_unicode() -> None:
    decomposed = "Tôi tên là Nguyễn Văn An."  # typed by a person: capitals, a full stop
    assert normalize_text(decomposed) == "tôi tên là nguyễn văn an"
    assert word_errors(decomposed, "tôi tên là nguyễn văn an") == ErrorCount(0, 6)
    # one substitution (an -> anh) and one deletion (văn) out of six words
    assert word_errors(decomposed, "tôi tên là nguyễn anh") == ErrorCount(2, 6)
    assert word_errors("a b c", "a x b c d").rate == pytest.approx(2 / 3)  # insertions count too
    assert char_errors("abc", "abd") == ErrorCount(1, 3)
    assert word_errors("", "something").rate is None  # no reference words: no rate
    assert (ErrorCount(1, 4) + ErrorCount(3, 6)).rate == pytest.approx(
        0.4
    )  # corpus-level, not a mean of rates






















