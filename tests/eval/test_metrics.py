"""Unit tests for callbot eval's arithmetic (``callbot.eval.metrics``): edit distance, WER/CER, turn timing."""

from __future__ import annotations

import pytest

from callbot.eval.metrics import (
    ErrorCount,
    TurnTiming,
    char_errors,
    edit_distance,
    normalize_text,
    turn_taking_summary,
    turn_timing,
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
























def test_turn_timing_tells_a_cut_off_from_a_wait() -> None:
    assert turn_timing([], 2.0) is None  # no turn declared (closed by the end of the stream): not timed
    waited = turn_timing([2.62, 4.0], 2.0)
    assert waited == TurnTiming(pytest.approx(620.0), False)  # the first declared end counts
    assert turn_timing([1.5, 2.7], 2.0) == TurnTiming(None, True)  # declared with half a second still to come
    assert turn_timing([1.96], 2.0) == TurnTiming(pytest.approx(-40.0), False)  # within the 50 ms tolerance


def test_turn_taking_summary_counts_cut_offs_and_percentiles_of_the_waits() -> None:
    timings = [TurnTiming(300.0, False), TurnTiming(None, True), TurnTiming(500.0, False), TurnTiming(700.0, False)]
    summary = turn_taking_summary(timings)
    assert summary["turns"] == 4 and summary["cut_offs"] == 1 and summary["cut_off_rate"] == 0.25
    assert summary["end_of_turn_ms"] == {"p50": 500.0, "p95": pytest.approx(680.0), "max": 700.0}
    assert turn_taking_summary([]) == {
        "turns": 0, "cut_offs": 0, "cut_off_rate": None, "end_of_turn_ms": {"p50": None, "p95": None, "max": None},
    }
