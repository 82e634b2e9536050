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
