"""Text helpers shared by the understanding modules: normalizing ASR text and matching phrases by whole words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_PUNCTUATION = re.compile(r"[^\w\s/'-]+", re.UNICODE)


def normalize(text: str) -> str:
    """NFC, lowercase, punctuation to spaces, single spaces: the form every matcher works on."""
    text = unicodedata.normalize("NFC", text).lower()
    text = _PUNCTUATION.sub(" ", text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    return normalize(text).split()


def fold(text: str) -> str:
    """Remove Vietnamese diacritics ("Đống Đa" -> "dong da") for matching text typed or heard without tones."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").lower()


def squeeze(text: str) -> str:
    """Collapse runs of white space (some official unit names carry a double space)."""
    return " ".join(text.split())


@dataclass(frozen=True)
class PhraseMatch:
    start: int
    end: int  # exclusive token index
    phrase: str


class PhraseSet:
    """A set of phrases matched as whole-word sequences in a token list; longer phrases win at one position."""

    def __init__(self, phrases: Iterable[str]) -> None:
        unique = {tuple(words(p)) for p in phrases if words(p)}
        self._phrases: tuple[tuple[str, ...], ...] = tuple(sorted(unique, key=len, reverse=True))
        by_first: dict[str, list[tuple[str, ...]]] = {}  # matching runs at every word of every turn
        for phrase in self._phrases:  # longest first within each list, as in _phrases
            by_first.setdefault(phrase[0], []).append(phrase)
        self._by_first = {first: tuple(found) for first, found in by_first.items()}

    def __bool__(self) -> bool:
        return bool(self._phrases)

    @property
    def phrases(self) -> tuple[str, ...]:
        return tuple(" ".join(p) for p in self._phrases)

    def match_at(self, tokens: Sequence[str], index: int) -> PhraseMatch | None:
        if index >= len(tokens):
            return None
        for phrase in self._by_first.get(tokens[index], ()):
            end = index + len(phrase)
            if tuple(tokens[index:end]) == phrase:
                return PhraseMatch(index, end, " ".join(phrase))
        return None

    def find_all(self, tokens: Sequence[str]) -> list[PhraseMatch]:
        """Non-overlapping matches, left to right."""
        found: list[PhraseMatch] = []
        index = 0
        while index < len(tokens):
            match = self.match_at(tokens, index)
            if match:
                found.append(match)
                index = match.end
            else:
                index += 1
        return found

    def first(self, tokens: Sequence[str]) -> PhraseMatch | None:
        matches = self.find_all(tokens)
        return matches[0] if matches else None

    def contains(self, tokens: Sequence[str]) -> bool:
        return self.first(tokens) is not None

    def remove(self, tokens: Sequence[str]) -> list[str]:
        """The tokens with every match taken out."""
        kept: list[str] = []
        index = 0
        for match in self.find_all(tokens):
            kept.extend(tokens[index : match.start])
            index = match.end
        kept.extend(tokens[index:])
        return kept

    def strip_edges(self, tokens: Sequence[str]) -> list[str]:
        """Remove matches at the start and end only (leading "dạ", trailing "ạ")."""
        result = list(tokens)
        changed = True
        while changed and result:
            changed = False
            match = self.match_at(result, 0)
            if match:
                result = result[match.end :]
                changed = True
                continue
            for start in range(max(0, len(result) - 4), len(result)):
                match = self.match_at(result, start)
                if match and match.end == len(result):
                    result = result[: match.start]
                    changed = True
                    break
        return result
