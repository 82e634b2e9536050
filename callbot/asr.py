"""Streaming speech recognition with Vosk. The only module that imports vosk.

One ``vosk.Model`` per model path per process (``VoskModels``), shared by every call; one
``VoskRecognizer`` per call at a time, kept warm between calls by ``callbot.recognizer_pool``. Word timings come back in seconds of the audio fed to the recognizer;
``final(offset)`` turns them into stream time.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import vosk

from callbot.types import Transcript, Word

UNKNOWN_WORD = "[unk]"  # lets a grammar-constrained recognizer say "none of these" instead of forcing a match


class AsrError(RuntimeError):
    """A model that cannot be loaded or audio the recognizer cannot take."""


class Recognizer(Protocol):
    """What the Listener needs from a streaming recognizer (Vosk here; a test double in unit tests)."""

    sample_rate: int

    def accept(self, pcm: bytes) -> str | None:
        """Feed PCM16 at ``sample_rate``; returns the current partial text when it changed, else None."""

    def final(self, offset: float) -> Transcript:
        """Close the utterance; times are shifted by ``offset`` (stream seconds of the first fed sample)."""

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Constrain recognition to these phrases (None: free speech)."""

    def reset(self) -> None:
        """Drop any audio fed since the last final."""


class VoskModels:
    """Process-wide cache: each model directory is loaded once and shared by every call (thread-safe)."""

    def __init__(self) -> None:
        self._models: dict[Path, vosk.Model] = {}
        self._lock = threading.Lock()
        vosk.SetLogLevel(-2)  # Kaldi logs to stderr (-1 still lets warnings through, e.g. per grammar)

    def get(self, path: Path | str) -> vosk.Model:
        key = Path(path).resolve()
        with self._lock:  # held during a load so two calls never load the same 600 MB model twice
            model = self._models.get(key)
            if model is None:
                if not (key / "am" / "final.mdl").is_file() and not (key / "final.mdl").is_file():
                    raise AsrError(f"not a Vosk model directory (no am/final.mdl): {key}")
                try:
                    model = vosk.Model(str(key))
                except Exception as exc:  # noqa: BLE001 - vosk raises a bare Exception when Kaldi fails
                    raise AsrError(f"cannot load the Vosk model at {key}: {exc}") from None
                self._models[key] = model
            return model

    def __len__(self) -> int:
        return len(self._models)


GRAMMARS_KEPT = 4  # grammar recognizers kept per recognizer: yes/no, which part, a province's wards...


@dataclass(slots=True)
class _Decoder:
    """One KaldiRecognizer and its own clock (samples fed since it was made: Vosk's word times count from it)."""

    kaldi: vosk.KaldiRecognizer
    fed_samples: int = 0
    open: bool = False  # audio fed since its last final or reset


class VoskRecognizer:
    """One call's streaming recognizer on a shared model.

    Warm across grammars and calls: the free-speech KaldiRecognizer is made once and kept while a question
    with phrases uses a grammar recognizer (also kept, the last ``GRAMMARS_KEPT``), since a new recognizer
    decodes 2-4x more expensively than one that has decoded before (DEPENDENCY-FACTS). ``clear()`` readies it
    for the next call (``callbot.recognizer_pool``); ``audio_seconds`` is what it decoded since it was made."""

    def __init__(self, model: vosk.Model, rate: int = 16000) -> None:
        self.model = model
        self.sample_rate = rate
        self.phrases: tuple[str, ...] | None = None
        self.audio_seconds = 0.0
        self.recognizers_made = 0  # KaldiRecognizers made: one free-speech, one per grammar kept
        self._free = _Decoder(self._new_recognizer(None))
        self._grammars: OrderedDict[tuple[str, ...], _Decoder] = OrderedDict()
        self._active = self._free
        self._utterance_start = 0.0  # Vosk time where the current utterance's audio began
        self._pieces: list[dict] = []  # results Vosk closed by itself inside one utterance
        self._last_partial = ""

    def _new_recognizer(self, phrases: Sequence[str] | None) -> vosk.KaldiRecognizer:
        if phrases:
            grammar = json.dumps([*phrases, UNKNOWN_WORD], ensure_ascii=False)  # Vosk wants raw UTF-8
            recognizer = vosk.KaldiRecognizer(self.model, self.sample_rate, grammar)
        else:
            recognizer = vosk.KaldiRecognizer(self.model, self.sample_rate)
        recognizer.SetWords(True)
        recognizer.SetPartialWords(True)
        self.recognizers_made += 1
        return recognizer

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """A grammar for a constrained question, or None to go back to free recognition (the kept free-speech
        recognizer: only a recognizer made without a grammar has the full language model)."""
        wanted = tuple(phrase.strip().lower() for phrase in phrases) if phrases else None  # lexicons are lowercase
        if wanted == self.phrases:
            return
        self._drop_open_audio()
        self.phrases = wanted
        self._active = self._free if wanted is None else self._grammar(wanted)
        self._restart_clock()

    def _grammar(self, phrases: tuple[str, ...]) -> _Decoder:
        decoder = self._grammars.pop(phrases, None) or _Decoder(self._new_recognizer(phrases))
        self._grammars[phrases] = decoder  # the most recently used last
        while len(self._grammars) > GRAMMARS_KEPT:
            self._grammars.popitem(last=False)
        return decoder

    def accept(self, pcm: bytes) -> str | None:
        if len(pcm) % 2:
            raise AsrError("PCM16 audio must have an even number of bytes")
        if not pcm:
            return None
        self._active.fed_samples += len(pcm) // 2
        self._active.open = True
        self.audio_seconds += len(pcm) / 2 / self.sample_rate
        if self._active.kaldi.AcceptWaveform(pcm):
            # Vosk's own endpointer closed a piece (a pause inside the turn): keep it for the final
            piece = json.loads(self._active.kaldi.Result())
            if piece.get("text"):
                self._pieces.append(piece)
            partial = ""
        else:
            partial = json.loads(self._active.kaldi.PartialResult()).get("partial", "")
        text = " ".join([*(p["text"] for p in self._pieces), partial]).strip()
        if text == self._last_partial:
            return None
        self._last_partial = text
        return text

    def final(self, offset: float) -> Transcript:
        last = json.loads(self._active.kaldi.FinalResult())
        self._active.open = False
        pieces = [*self._pieces, last]
        base = self._utterance_start
        duration = self._active.fed_samples / self.sample_rate - base
        self._restart_clock()
        words = tuple(
            Word(
                word=item["word"],
                start=offset + item["start"] - base,
                end=offset + item["end"] - base,
                confidence=float(item.get("conf", 1.0)),
            )
            for piece in pieces
            for item in piece.get("result", [])
        )
        text = " ".join(piece.get("text", "") for piece in pieces if piece.get("text")).strip()
        if not words:
            return Transcript(text=text, start=offset, end=offset + duration, confidence=0.0)
        confidence = sum(word.confidence for word in words) / len(words)
        return Transcript(text=text, start=words[0].start, end=words[-1].end, confidence=confidence, words=words)

    def reset(self) -> None:
        self._drop_open_audio()
        self._restart_clock()

    def clear(self) -> None:
        """Ready for another call: any unfinished utterance dropped, free speech again (nothing of the last
        call's words can reach the next: every decoder is at an utterance boundary)."""
        self._drop_open_audio()
        self.phrases = None
        self._active = self._free
        self._restart_clock()

    def _drop_open_audio(self) -> None:
        """Close the open utterance unread: Vosk's Reset() leaves its audio in the decoder (the next utterance
        heard it, measured with the Korean model), a final does not."""
        if self._active.open:
            self._active.kaldi.FinalResult()
            self._active.open = False

    def _restart_clock(self) -> None:
        self._utterance_start = self._active.fed_samples / self.sample_rate
        self._pieces = []
        self._last_partial = ""
