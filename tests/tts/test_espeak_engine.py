"""The espeak-ng engine makes real Vietnamese audio through SpeechOutput at the call's rate: duration, level, no
clipping; its own rate; an unknown voice is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.tts import SpeechOutput, VoiceNotFound
from callbot.tts.engine import load_voice, resolve_voice
from tests.support.tts import assert_clean_speech, level_of, settings_with

VI_SENTENCE = "Xin chào, đây là tổng đài hỗ trợ người dân của thành phố."


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("voice", ["vi", "vi-vn-x-central", "vi-vn-x-south"])
def test_espeak_speaks_vietnamese_at_the_call_rate(tmp_path: Path, rate: int, voice: str) -> None:
    speech = SpeechOutput(settings_with(tmp_path, tts_engine_vi="espeak", tts_voice_vi=voice))
    pcm = speech.synthesize(VI_SENTENCE, locale="vi", rate=rate)
    assert_clean_speech(pcm, rate, (2.0, 7.0))


def test_espeak_engine_returns_its_native_rate(tmp_path: Path) -> None:
    synthesizer = load_voice(resolve_voice("espeak", "vi", settings_with(tmp_path)))
    samples = synthesizer.synthesize("một hai ba")
    assert synthesizer.sample_rate == 22050
    assert 0.5 < samples.size / 22050 < 3.0 and float(abs(samples).max()) > 0.05


def test_unknown_espeak_voice_is_a_clear_error(tmp_path: Path) -> None:
    speech = SpeechOutput(settings_with(tmp_path, tts_voice_vi="vi-nowhere"))
    with pytest.raises(VoiceNotFound, match="espeak-ng has no voice 'vi-nowhere'"):
        speech.synthesize("xin chào", locale="vi", rate=8000)


def test_the_configured_level_is_what_plays(tmp_path: Path) -> None:
    quiet = SpeechOutput(settings_with(tmp_path, tts_level_dbfs=-30.0))
    loud = SpeechOutput(settings_with(tmp_path, tts_level_dbfs=-14.0))
    assert abs(level_of(quiet.synthesize(VI_SENTENCE, locale="vi", rate=8000), 8000) + 30.0) < 1.0
    assert abs(level_of(loud.synthesize(VI_SENTENCE, locale="vi", rate=8000), 8000) + 14.0) < 1.0
