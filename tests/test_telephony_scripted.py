"""Name, address and need captured through real SIP and media, confirmed by keypad, ticket number read back.

The one stand-in is the recognizer's words: this file, run as a script, serves the real service whose
recognizer returns each fixture WAV's known transcript in order (the packaged Vosk model is Korean and cannot
understand Vietnamese). SIP, RTP, the bridge, endpoint detection on the caller's real audio, the dialogue,
speech output, the store and the recording are all real.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from callbot.call.resources import SharedResources
from callbot.types import Transcript, Word

sys.path.insert(0, str(Path(__file__).resolve().parent))

ANSWERS = {
    "name": "Nguyễn Văn An",
    "address": "số 5 phố Huế phường Hai Bà Trưng Hà Nội",
    "need": "tôi cần thuốc hạ sốt cho mẹ tôi",
}
VI_DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]


class ScriptedRecognizer:
    """Returns the next scripted transcript for each utterance the endpoint detector closes."""

    def __init__(self, transcripts: list[str], sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._transcripts = transcripts  # shared by the call: each utterance takes the next one
        self._fed_bytes = 0

    def accept(self, pcm: bytes) -> str | None:
        self._fed_bytes += len(pcm)
        return None

    def final(self, offset: float) -> Transcript:
        text = self._transcripts.pop(0) if self._transcripts else ""
        end = offset + self._fed_bytes / 2 / self.sample_rate
        self._fed_bytes = 0
        words = tuple(Word(word, offset, end, 0.95) for word in text.split())
        return Transcript(text, offset, end, 0.95 if text else 0.0, words)

    def set_phrases(self, phrases: object) -> None:
        pass

    def reset(self) -> None:
        self._fed_bytes = 0


def serve(transcripts: list[str]) -> None:
    """The service with the scripted recognizer (run in its own process by the test)."""
    import logging

    from sip_caller import READY_LINE

    from callbot.config import load_settings
    from callbot.service import CallbotService

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    resources = SharedResources.load(  # each call hears the script from its start
        settings, recognizer_factory=lambda locale, rate: ScriptedRecognizer(list(transcripts), rate)
    )
    service = CallbotService(settings, resources)
    service.start()
    print(READY_LINE, flush=True)
    service.wait_for_signal()


@pytest.mark.slow
def test_slots_captured_over_sip_confirmed_by_keypad_and_number_read_back(tmp_path: Path, espeak: str) -> None:
    from conftest import espeak_wav
    from sip_caller import run_peer, start_service
    from test_telephony_sip import recording_of, ticket_of

    wavs = {slot: espeak_wav(tmp_path / f"{slot}.wav", text, "vi", rate=8000) for slot, text in ANSWERS.items()}
    command = [sys.executable, str(Path(__file__).resolve()), json.dumps(list(ANSWERS.values()))]
    service = start_service(tmp_path / "data", command=command)
    try:
        steps = ["until_speech:10", "until_quiet:0.8"]
        for slot in ("name", "address", "need"):
            steps += [f"play:{wavs[slot]}", "until_quiet:0.8"]
        steps += ["dtmf:1", "until_speech:10", "until_quiet:1.5", "wait:2"]  # "1" = yes, the read-back is right
        report = run_peer(tmp_path / "c.json", "--target", service.uri, *[a for s in steps for a in ("--step", s)])
        assert report["connected"] and report["error"] is None, report
        assert len(report["turn_latencies_ms"]) == 3, report  # the bot answered each of our three answers

        detail = ticket_of(service, report["call_id"])
        assert detail is not None, service.log()[-3000:]
        ticket = detail.ticket
        assert ticket.outcome == "complete", detail
        assert ticket.name == "Nguyễn Văn An"
        assert ticket.ward_name == "Phường Hai Bà Trưng" and ticket.province_code == "01"
        assert ticket.category == "medical_advice" and "thuốc hạ sốt" in (ticket.need_text or "")
        assert [t.text for t in detail.turns if t.kind == "dtmf"] == ["1"]
        readback = " ".join(VI_DIGITS[int(d)] for d in ticket.number[:4])
        assert any(readback in t.text for t in detail.turns if t.speaker == "bot"), detail.turns
        assert recording_of(service, report["call_id"]) is not None
    finally:
        assert service.stop() == 0, service.log()[-3000:]


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
