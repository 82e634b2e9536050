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
from callbot.testing import ScriptedRecognizer
from callbot.types import Transcript
from tests.support.sip import READY_LINE

ANSWERS = {  # what the tests' callers say, and so what the scripted recognizer hears, in order
    "name": "Nguyễn Văn An",
    "address": "số 5 phố Huế phường Hai Bà Trưng Hà Nội",
    "need": "tôi cần thuốc hạ sốt cho mẹ tôi",
}


class SlowDecoder(ScriptedRecognizer):
    """The scripted recognizer whose every final decode takes ``decode_s`` of real time (this runs as its own
    service process: a recognizer far behind real time on a saturated CPU)."""

    def __init__(self, transcripts: list[str], sample_rate: int, decode_s: float) -> None:
        super().__init__(transcripts, sample_rate=sample_rate)
        self.decode_s = decode_s

    def final(self, offset: float) -> Transcript:
        time.sleep(self.decode_s)  # the stall under test, in a separate real-time process
        return super().final(offset)


def command(transcripts: list[str], decode_s: float = 0.0) -> list[str]:
    """The command line that serves these transcripts (run from the repository root)."""
    return [sys.executable, "-m", "tests.support.scripted_service", json.dumps(transcripts), str(decode_s)]


def serve(transcripts: list[str], decode_s: float = 0.0) -> None:
    """The service with the scripted recognizer (run in its own process by the test)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    resources = SharedResources.load(  # each call hears the script from its start
        settings, recognizer_factory=lambda locale, rate: SlowDecoder(transcripts, rate, decode_s)
    )
    service = CallbotService(settings, resources)
    service.start()
    print(READY_LINE, flush=True)
    service.wait_for_signal()


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
