"""The SIP service with a scripted recognizer, run as its own process by the tests
(``python -m tests.support.scripted_service '<JSON list of transcripts>'``): each utterance the endpoint detector
closes is heard as the next transcript of the list (the packaged Vosk model is Korean and cannot understand
Vietnamese). Everything else is the real service. With ``decode_s`` (a second argument), each final decode takes
that long, like a recognizer far behind real time on a saturated CPU."""

from __future__ import annotations

import json
import logging
import sys
import time

from callbot.call.resources import SharedResources
from callbot.config import load_settings
from callbot.service import CallbotService
from callbot.types import Transcript, Word
from tests.support.sip import READY_LINE

ANSWERS = {  # what the tests' callers say, and so what the scripted recognizer hears, in order
    "name": "Nguyễn Văn An",
    "address": "số 5 phố Huế phường Hai Bà Trưng Hà Nội",
    "need": "tôi cần thuốc hạ sốt cho mẹ tôi",
}


class ScriptedRecognizer:
    """Returns the next scripted transcript for each utterance the endpoint detector closes."""

    def __init__(self, transcripts: list[str], sample_rate: int, decode_s: float = 0.0) -> None:
        self.sample_rate = sample_rate
        self.decode_s = decode_s
        self._transcripts = transcripts  # shared by the call: each utterance takes the next one
        self._fed_bytes = 0

    def accept(self, pcm: bytes) -> str | None:
        self._fed_bytes += len(pcm)
        return None

    def final(self, offset: float) -> Transcript:
        time.sleep(self.decode_s)
        text = self._transcripts.pop(0) if self._transcripts else ""
        end = offset + self._fed_bytes / 2 / self.sample_rate
        self._fed_bytes = 0
        words = tuple(Word(word, offset, end, 0.95) for word in text.split())
        return Transcript(text, offset, end, 0.95 if text else 0.0, words)

    def set_phrases(self, phrases: object) -> None:
        pass

    def reset(self) -> None:
        self._fed_bytes = 0


def command(transcripts: list[str], decode_s: float = 0.0) -> list[str]:
    """The command line that serves these transcripts (run from the repository root)."""
    return [sys.executable, "-m", "tests.support.scripted_service", json.dumps(transcripts), str(decode_s)]


def serve(transcripts: list[str], decode_s: float = 0.0) -> None:
    """The service with the scripted recognizer (run in its own process by the test)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    resources = SharedResources.load(  # each call hears the script from its start
        settings, recognizer_factory=lambda locale, rate: ScriptedRecognizer(list(transcripts), rate, decode_s)
    )
    service = CallbotService(settings, resources)
    service.start()
    print(READY_LINE, flush=True)
    service.wait_for_signal()


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
