"""A perfect recognizer, for benchmarks and tests of what the words say (``callbot.turn_text``) where no
recognizer for the language is installed: it "hears" the reference words of each spoken part, spread evenly
over the part's speech, each word at its end, without lag or error. It keeps the ``Recognizer`` contract, so
the real Listener and turn-taker run around it; whoever drives the audio sets ``now`` (stream seconds) before
each frame. Its figures are an upper bound for the text signal: a real recognizer lags and errs.
"""

from __future__ import annotations

from collections.abc import Sequence

from callbot.types import Transcript

SpokenPart = tuple[float, float, str]  # (start, end, words) in stream seconds


class ReferencePartials:
    sample_rate = 16000

    def __init__(self, parts: Sequence[SpokenPart]) -> None:
        self.timed = [
            (start + (index + 1) / len(said) * (end - start), word)
            for start, end, text in parts
            for said in [text.split()]
            for index, word in enumerate(said)
        ]
        self.now = 0.0
        self._said = ""
        self._final_from = 0  # words already given in an earlier final

    def _spoken(self) -> list[str]:
        return [word for at, word in self.timed if at <= self.now]

    def accept(self, pcm: bytes) -> str | None:
        spoken = " ".join(self._spoken()[self._final_from :])
        if spoken == self._said:
            return None
        self._said = spoken
        return spoken

    def final(self, offset: float) -> Transcript:
        spoken = self._spoken()
        text = " ".join(spoken[self._final_from :])
        self._final_from = len(spoken)
        self._said = ""
        return Transcript(text, offset, self.now, 1.0)

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        pass

    def reset(self) -> None:
        self._said = ""
