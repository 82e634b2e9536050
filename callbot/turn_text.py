"""The text signal of end-of-turn detection: the caller's words so far (the recognizer's partial), read against
what the question expects, say whether the answer is over.

- ``complete``: the words make a whole answer to this question: a yes or a no to a yes/no question, one of the
  choices of a constrained question (a ward of the grammar) that no longer choice goes on from, as many digits as
  the keypad entry wants, a name of ``sure``..``max`` syllables (after a carrier, or bare), an address whose
  last part is a named ward, district or province, or any answer closed by a closer ("... ạ");
- ``incomplete``: the caller is mid-phrase: the words end with a connector ("và", "của"), a carrier ("tôi tên
  là", "tôi cần"), a hesitation ("ờ"), an unfinished number ("hai mươi", "một trăm"), a place marker waiting
  for its name ("phường", "ngõ"), a house number with nothing after it, a name shorter than ``min`` syllables,
  fewer digits than the keypad entry wants;
- ``emergency``: an emergency phrase was said: the turn must end at the first pause, whatever else is true;
- ``unknown``: the words do not tell; the audio model decides.

Every word list is the locale's ``lexicon.yaml`` (``turn_taking`` and the understanding's own lists): no words
in code. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from callbot.dialogue.lexicon import Lexicon
from callbot.dialogue.numerals import is_number_word, numbers_to_digits
from callbot.dialogue.text import PhraseSet, words
from callbot.types import Ask

AnswerKind = Literal["yes_no", "choice", "digits", "name", "address", "need", "free"]


class TextVerdict(str, Enum):
    complete = "complete"
    incomplete = "incomplete"
    unknown = "unknown"
    emergency = "emergency"


@dataclass(frozen=True)
class Expectation:
    """What a question's answer looks like, as far as turn-taking cares."""

    kind: AnswerKind
    choices: PhraseSet | None = None  # a constrained question's answers (its grammar), or an address's endings
    digits: int = 0  # a keypad entry said aloud: how many digits make it whole

    @classmethod
    def of(cls, ask: Ask | None, lexicon: Lexicon) -> Expectation:
        if ask is None:
            return cls("free")
        if ask.dtmf_digits > 1:
            return cls("digits", digits=ask.dtmf_digits)
        if ask.slot == "confirm":
            return cls("yes_no")
        if ask.phrases:
            return cls("choice", choices=PhraseSet(ask.phrases))
        if ask.slot == "address":
            return cls("address", choices=PhraseSet(ask.endings) if ask.endings else None)
        if ask.slot in ("name", "need"):
            return cls(ask.slot)  # type: ignore[arg-type]
        return cls("free")


def _ends_with(phrases: PhraseSet, tokens: Sequence[str]) -> bool:
    """One of the phrases is the last words of ``tokens``."""
    for start in range(max(0, len(tokens) - 6), len(tokens)):
        match = phrases.match_at(tokens, start)
        if match is not None and match.end == len(tokens):
            return True
    return False


class AnswerText:
    """One locale's text signal (built once per process from its lexicon; read-only, thread-safe)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.words = lexicon.turn_taking
        admin = lexicon.admin
        self.place_markers = PhraseSet([*admin.ward.phrases, *admin.district.phrases, *admin.province.phrases])
        self.all_markers = PhraseSet([*self.place_markers.phrases, *admin.street.phrases])
        self.numbered = PhraseSet(p for p in admin.street.phrases if p in lexicon.number_keywords or p == "số nhà")
        self.carriers = PhraseSet([*lexicon.name_carriers.phrases, *lexicon.name_intros.phrases,
                                   *lexicon.address_intros.phrases, *lexicon.need_carriers.phrases])
        self.name_carriers = PhraseSet([*lexicon.name_carriers.phrases, *lexicon.name_intros.phrases])
        self.yes_no = PhraseSet(lexicon.yes_no_phrases())

    def verdict(self, text: str, expect: Expectation) -> TextVerdict:
        tokens = words(text)
        if self.lexicon.emergency.contains(tokens):
            return TextVerdict.emergency
        if not tokens:
            return TextVerdict.unknown
        if _ends_with(self.words.hesitations, tokens):
            return TextVerdict.incomplete
        if expect.kind == "yes_no":
            said = self.lexicon.fillers.strip_edges(tokens)
            if not said:
                return TextVerdict.unknown
            if not self.words.openers.remove(said):
                return TextVerdict.incomplete  # "dạ" opens the reply: the yes or the no (or a correction) follows
            return TextVerdict.complete if _ends_with(self.yes_no, said) else TextVerdict.unknown
        if expect.kind == "choice":
            return self._choice(tokens, expect)
        if expect.kind == "digits":
            return self._digits(tokens, expect.digits)
        if _ends_with(self.words.closers, tokens) and not _ends_with(self.words.continues, tokens):
            return TextVerdict.complete
        if expect.kind == "name" and self.lexicon.anonymous.contains(tokens):
            return TextVerdict.complete  # "tôi xin giấu tên": no name is a whole answer
        content = _strip_leading(self.lexicon.politeness, self.lexicon.fillers.remove(tokens))
        if not content or self._unfinished(content, expect.kind):
            return TextVerdict.incomplete
        content = self.lexicon.politeness.strip_edges(content)
        if expect.kind == "name":
            return self._name(content) if content else TextVerdict.incomplete
        if expect.kind == "address":
            return self._address(content, expect.choices)
        return TextVerdict.unknown

    # --- what every kind shares -----------------------------------------------------------------------
    def _unfinished(self, tokens: list[str], kind: AnswerKind) -> bool:
        """The last words leave the phrase open."""
        if _ends_with(self.words.continues, tokens) or _ends_with(self.words.number_continues, tokens):
            return True
        if _ends_with(self.carriers, tokens):
            return True
        places = kind in ("name", "address", "free") and not self.lexicon.street_marker_follows_name
        return places and _ends_with(self.all_markers, tokens)  # "phường" ... its name comes next

    # --- per kind -------------------------------------------------------------------------------------
    def _choice(self, tokens: list[str], expect: Expectation) -> TextVerdict:
        assert expect.choices is not None
        said = self.lexicon.politeness.strip_edges(self.lexicon.fillers.remove(tokens))
        if not said or _ends_with(self.place_markers, said) or _ends_with(self.words.continues, said):
            return TextVerdict.incomplete
        return _ending(said, expect.choices) or TextVerdict.unknown

    def _digits(self, tokens: list[str], wanted: int) -> TextVerdict:
        locale = self.lexicon.locale
        if _ends_with(self.words.number_continues, tokens):
            return TextVerdict.incomplete
        spoken = [t for t in tokens if is_number_word(t, locale)]
        digits = "".join(t for t in numbers_to_digits(spoken, locale) if t.isdigit())
        if len(digits) >= wanted:
            return TextVerdict.complete
        return TextVerdict.incomplete if spoken else TextVerdict.unknown

    def _name(self, tokens: list[str]) -> TextVerdict:
        carriers = self.name_carriers.find_all(tokens)
        name = tokens[carriers[-1].end :] if carriers else tokens
        length = len(name)
        if length < self.words.name_min or _ends_with(self.words.name_unfinished, name):
            return TextVerdict.incomplete
        if self.words.name_sure <= length <= self.words.name_max and not self.all_markers.contains(name):
            return TextVerdict.complete
        return TextVerdict.unknown

    def _address(self, tokens: list[str], wards: PhraseSet | None) -> TextVerdict:
        markers = self.all_markers.find_all(tokens)
        if not markers:
            return TextVerdict.unknown
        last = markers[-1]
        after = tokens[last.end :]
        if self.numbered.match_at(tokens, last.start) is not None and all(
            is_number_word(t, self.lexicon.locale) or t in self.lexicon.slash_words for t in after
        ):
            return TextVerdict.incomplete  # a house number or lane is never the whole address
        if self.place_markers.match_at(tokens, last.start) is None or not after:
            return TextVerdict.unknown
        if wards is None:
            return TextVerdict.complete  # it ends on a named ward, district or province
        # "phường hoàn" is the start of "phường hoàn kiếm": the name is not over yet
        return _ending(tokens[last.start :], wards) or _ending(after, wards) or TextVerdict.unknown


def _strip_leading(phrases: PhraseSet, tokens: list[str]) -> list[str]:
    """Without the phrases it opens with ("dạ vâng thưa ..."); its last words are kept as said."""
    match = phrases.match_at(tokens, 0)
    while match is not None:
        tokens = tokens[match.end :]
        match = phrases.match_at(tokens, 0)
    return tokens


def _ending(tokens: Sequence[str], endings: PhraseSet) -> TextVerdict | None:
    """Complete when the words end with one of ``endings`` that no longer one goes on from ("phường láng");
    incomplete when they end part-way into one ("phường hoàn" of "phường hoàn kiếm"); None when neither."""
    for start in range(len(tokens)):
        tail = tokens[start:]
        match = endings.match_at(tail, 0)
        if match is not None and match.end == len(tail):
            longer = any(p.startswith(match.phrase + " ") for p in endings.phrases)
            return TextVerdict.unknown if longer else TextVerdict.complete  # "ba" of "ba đình": maybe more
    for start in range(len(tokens)):
        head = " ".join(tokens[start:]) + " "
        if any(p.startswith(head) for p in endings.phrases):
            return TextVerdict.incomplete
    return None
