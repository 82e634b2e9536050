"""Word and character error rates (a small Levenshtein distance, no dependency) and latency summaries
(``callbot.measures.percentile``, the one percentile).

Text is compared after normalization: Unicode NFC, lowercase, punctuation dropped, whitespace squeezed —
Vosk outputs lowercase words without punctuation, while references are written by people.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from callbot.measures import percentile


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    kept = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(kept.split())


def edit_distance(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance: substitutions + deletions + insertions turning ``reference`` into ``hypothesis``."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_item in enumerate(reference, start=1):
        current = [i]
        for j, hyp_item in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_item != hyp_item)))
        previous = current
    return previous[-1]


@dataclass(frozen=True, slots=True)
class ErrorCount:
    """Errors against a reference of ``length`` units; rates are summed over many before dividing."""

    errors: int = 0
    length: int = 0

    def __add__(self, other: ErrorCount) -> ErrorCount:
        return ErrorCount(self.errors + other.errors, self.length + other.length)

    @property
    def rate(self) -> float | None:
        return self.errors / self.length if self.length else None


def word_errors(reference: str, hypothesis: str) -> ErrorCount:
    ref, hyp = normalize_text(reference).split(), normalize_text(hypothesis).split()
    return ErrorCount(edit_distance(ref, hyp), len(ref))


def char_errors(reference: str, hypothesis: str) -> ErrorCount:
    ref, hyp = normalize_text(reference), normalize_text(hypothesis)
    return ErrorCount(edit_distance(ref, hyp), len(ref))


def total(counts: Iterable[ErrorCount]) -> ErrorCount:
    return sum(counts, ErrorCount())


def latency_summary(values_ms: Sequence[float]) -> dict[str, float | int | None]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    return {
        "count": len(values_ms),
        "p50": rounded(percentile(values_ms, 50)),
        "p95": rounded(percentile(values_ms, 95)),
        "max": rounded(max(values_ms)) if values_ms else None,
    }


CUT_OFF_TOLERANCE_S = 0.05  # the energy truth's 10 ms windows and a frame's 20 ms: an end this close is not a cut


@dataclass(frozen=True, slots=True)
class TurnTiming:
    """When a caller's turn was declared over against where the clip's speech really ended: ``cut_off`` when
    the first declared end came while speech was still to come; else ``end_of_turn_ms`` (speech end ->
    declared end, stream time: the decision's own wait, without any decoding time)."""

    end_of_turn_ms: float | None
    cut_off: bool


def turn_timing(declared_at: Sequence[float], speech_end: float) -> TurnTiming | None:
    """``declared_at``: the stream times at which the turn-taker ended the caller's turns during this answer
    (empty: none was declared, e.g. speech still open at the end of the stream: not timed)."""
    if not declared_at:
        return None
    first = declared_at[0]
    if first < speech_end - CUT_OFF_TOLERANCE_S:
        return TurnTiming(None, True)
    return TurnTiming((first - speech_end) * 1000, False)


def turn_taking_summary(timings: Sequence[TurnTiming]) -> dict[str, object]:
    """``callbot eval``'s overall ``turn_taking`` block."""
    cut_offs = sum(t.cut_off for t in timings)
    waits = [t.end_of_turn_ms for t in timings if t.end_of_turn_ms is not None]
    summary = latency_summary(waits)
    return {
        "turns": len(timings),
        "cut_offs": cut_offs,
        "cut_off_rate": round(cut_offs / len(timings), 4) if timings else None,
        "end_of_turn_ms": {key: summary[key] for key in ("p50", "p95", "max")},
    }
