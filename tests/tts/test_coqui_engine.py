"""Coqui TTS through its real loading code, on a tiny VITS built here (no pretrained model can be fetched).

The model is untrained, so it says nothing intelligible; what these tests prove is the path a real Coqui
voice takes: Coqui's checkpoint and config loading, by local path and by model name from Coqui's cache
folder, Vietnamese graphemes in the vocabulary, synthesis, and our rate, level and clipping guarantees.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from callbot.audio import read_wav
from callbot.tts import SpeechOutput, VoiceNotFound
from tests.support.coqui import build_untrained_vits
from tests.support.tts import assert_clean_speech, level_of, settings_with

pytestmark = [pytest.mark.coqui, pytest.mark.slow]

CATALOGUE_NAME = (
    "tts_models/en/ljspeech/vits"  # Coqui resolves only catalogue names; our files stand in for it
)
SENTENCE = "Xin chào, đây là tổng đài hỗ trợ người dân. Số phiếu là 1234-5678."


@pytest.fixture(scope="session")
def tiny_vits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_untrained_vits(tmp_path_factory.mktemp("tiny-vits") / "checkpoint", tiny=True)


@pytest.fixture
def coqui_home(tiny_vits: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A $TTS_HOME whose cache already holds the model under a catalogue name, as Coqui lays it out."""
    home = tmp_path / "tts-home"
    shutil.copytree(tiny_vits, home / "tts" / CATALOGUE_NAME.replace("/", "--"))
    monkeypatch.setenv("TTS_HOME", str(home))
    return home


@pytest.mark.parametrize("rate", [8000, 16000])
def test_a_local_checkpoint_speaks_vietnamese_graphemes(
    tiny_vits: Path, tmp_path: Path, rate: int, caplog: pytest.LogCaptureFixture
) -> None:
    speech = SpeechOutput(settings_with(tmp_path, tts_engine_vi="coqui", tts_voice_vi=str(tiny_vits)))
    with caplog.at_level(logging.WARNING):
        pcm = speech.synthesize(SENTENCE, locale="vi", rate=rate)
    assert not [r for r in caplog.records if "not found in the vocabulary" in r.getMessage()]
    assert speech.synthesizer("vi").sample_rate == 16000
    assert speech.stats.sentences_synthesized == 2
    assert_clean_speech(pcm, rate, (1.0, 30.0))


def test_a_checkpoint_file_with_its_config_beside_it(tiny_vits: Path, tmp_path: Path) -> None:
    speech = SpeechOutput(
        settings_with(tmp_path, tts_engine_vi="coqui", tts_voice_vi=str(tiny_vits / "model_file.pth"))
    )
    assert_clean_speech(speech.synthesize("Xin chào.", locale="vi", rate=8000), 8000, (0.2, 10.0))


def test_a_named_model_loads_from_coquis_cache_without_downloading(coqui_home: Path, tmp_path: Path) -> None:
    speech = SpeechOutput(settings_with(tmp_path, tts_engine_vi="coqui", tts_voice_vi=CATALOGUE_NAME))
    voice = speech.resolved_voice("vi")
    assert voice.files[0].parent == coqui_home / "tts" / "tts_models--en--ljspeech--vits"
    assert speech.synthesizer("vi")._tts.model_name == CATALOGUE_NAME  # loaded by name, through Coqui's manager
    assert_clean_speech(speech.synthesize("Xin chào các bạn.", locale="vi", rate=8000), 8000, (0.2, 10.0))
    assert sorted(p.name for p in (coqui_home / "tts").iterdir()) == ["tts_models--en--ljspeech--vits"]


def test_a_missing_named_model_names_the_fetching_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTS_HOME", str(tmp_path / "empty-home"))
    name = "tts_models/vie/fairseq/vits"  # in the model manifest, not installed, not in Coqui's cache
    speech = SpeechOutput(settings_with(tmp_path, tts_engine_vi="coqui", tts_voice_vi=name))
    with pytest.raises(VoiceNotFound, match=f"callbot models pull {name}"):
        speech.resolved_voice("vi")


def test_a_folder_without_a_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    speech = SpeechOutput(
        settings_with(tmp_path, tts_engine_vi="coqui", tts_voice_vi=str(tmp_path / "empty"))
    )
    with pytest.raises(VoiceNotFound, match="must hold config.json and one .pth checkpoint"):
        speech.resolved_voice("vi")


def test_coqui_plays_at_the_same_loudness_as_espeak(tiny_vits: Path, tmp_path: Path) -> None:
    coqui = SpeechOutput(settings_with(tmp_path, tts_engine_vi="coqui", tts_voice_vi=str(tiny_vits)))
    espeak = SpeechOutput(settings_with(tmp_path))
    coqui_level = level_of(coqui.synthesize(SENTENCE, locale="vi", rate=8000), 8000)
    espeak_level = level_of(espeak.synthesize(SENTENCE, locale="vi", rate=8000), 8000)
    assert abs(coqui_level - espeak_level) < 1.0, (coqui_level, espeak_level)


def test_say_with_coqui_end_to_end(coqui_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "coqui.wav"
    env = {**os.environ, "CALLBOT_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "callbot",
            "say",
            "Xin chào.",
            "-l",
            "vi",
            "-e",
            "coqui",
            "--voice",
            CATALOGUE_NAME,
            "-r",
            "16000",
            "-o",
            str(out),
        ],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    audio = read_wav(out)
    assert audio.rate == 16000
    assert_clean_speech(audio.pcm, 16000, (0.2, 10.0))
