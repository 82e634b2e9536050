"""The SIP service with a scripted recognizer, run as its own process by the tests
(``python -m tests.support.scripted_service '<JSON list of transcripts>'``): each utterance the endpoint detector
closes is heard as the next transcript of the list (the packaged Vosk model is Korean and cannot understand
Vietnamese). Everything else is the real service."""

from __future__ import annotations

import json
import logging
import sys

from callbot.call.resources import SharedResources
from callbot.config import load_settings
from callbot.service import CallbotService
from callbot.testing import ScriptedRecognizer
from tests.support.sip import READY_LINE

ANSWERS = {  # what the tests' callers say, and so what the scripted recognizer hears, in order
    "name": "Nguyễn Văn An",
    "address": "số 5 phố Huế phường Hai Bà Trưng Hà Nội",
    "need": "tôi cần thuốc hạ sốt cho mẹ tôi",
}


def command(transcripts: list[str]) -> list[str]:
    """The command line that serves these transcripts (run from the repository root)."""
    return [sys.executable, "-m", "tests.support.scripted_service", json.dumps(transcripts)]


def serve(transcripts: list[str]) -> None:
    """The service with the scripted recognizer (run in its own process by the test)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    resources = SharedResources.load(  # each call hears the script from its start
        settings, recognizer_factory=lambda locale, rate: ScriptedRecognizer(transcripts, sample_rate=rate)
    )
    service = CallbotService(settings, resources)
    service.start()
    print(READY_LINE, flush=True)
    service.wait_for_signal()


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
