"""`callbot replay` end to end on WAVs made in the test, with the real Korean Vosk model."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from callbot.audio import resample, write_wav
from callbot.cli import app
from callbot.config import Settings
from callbot.listener import Final, Partial, SpeechStarted
from callbot.replay import describe, replay
from tests.support.speech import build_call, trimmed_speech

CALLBOT = [sys.executable, "-m", "callbot"]  # the installed package, whichever virtualenv runs the tests


@pytest.fixture(scope="module")
def two_turn_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[tuple[float, float], ...]]:
    """Korean speech, silence, speech; written as 22.05 kHz stereo (replay takes any rate and channel count)."""
    tmp = tmp_path_factory.mktemp("replay")
    first = trimmed_speech(tmp, "안녕하세요 저는 서울에 살고 있습니다", "ko", 16000)
    second = trimmed_speech(tmp, "저는 부산에 있습니다", "ko", 16000)
    call = build_call(16000, [1.0, first, 1.5, second, 1.0])
    mono = np.frombuffer(resample(call.pcm, 16000, 22050), dtype="<i2")
    stereo = np.repeat(mono, 2)
    return write_wav(tmp / "call.wav", stereo.tobytes(), 22050, channels=2), call.truth


@pytest.mark.slow
@pytest.mark.model
def test_replay_json_end_to_end(two_turn_wav, korean_model_path: Path, tmp_path: Path) -> None:
    wav, truth = two_turn_wav
    done = subprocess.run(
        [*CALLBOT, "replay", str(wav), "--model", str(korean_model_path), "--json"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["segments"]) == 2 and len(result["finals"]) == 2
    for segment, (true_start, true_end) in zip(result["segments"], truth):
        assert abs(segment["start"] - true_start) <= 0.1 and abs(segment["end"] - true_end) <= 0.1
    for final, (true_start, true_end) in zip(result["finals"], truth):
        assert set(final) == {"text", "start", "end", "confidence", "words"}
        assert final["text"] and final["words"] and 0 < final["confidence"] <= 1
        assert [w["word"] for w in final["words"]] == final["text"].split()
        assert true_start - 0.35 <= final["start"] < final["end"] <= true_end + 0.35
        starts = [w["start"] for w in final["words"]]
        assert starts == sorted(starts)
    assert result["partials"]
    assert 0.5 < result["asr_fraction"] < 0.95  # speech plus padding, not the silences


@pytest.mark.slow
@pytest.mark.model
def test_timeline_and_realtime_pace(tmp_path: Path, vosk_models, korean_model_path: Path) -> None:
    speech = trimmed_speech(tmp_path, "저는 부산에 있습니다", "ko", 8000)
    call = build_call(8000, [0.5, speech, 0.8])
    wav = write_wav(tmp_path / "short.wav", call.pcm, 8000)
    began = time.monotonic()
    result = replay(wav, Settings(), korean_model_path, realtime=True, models=vosk_models)
    assert time.monotonic() - began >= result.duration - 0.05  # never ahead of the clock
    kinds = [type(event) for event in result.events]
    assert kinds[0] is SpeechStarted and kinds[-1] is Final and Partial in kinds
    lines = [describe(event) for event in result.events]
    assert "speech starts" in lines[0] and "final [" in lines[-1] and "conf" in lines[-1]


def test_replay_without_a_model_names_the_pull_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBOT_MODELS_DIR", str(tmp_path / "models"))
    wav = write_wav(tmp_path / "silence.wav", b"\x00\x00" * 8000, 8000)
    result = CliRunner().invoke(app, ["replay", str(wav)])
    assert result.exit_code == 1
    assert "callbot models pull vosk-model-small-vn-0.4" in result.output


def test_replay_of_an_unreadable_file_is_a_clear_error(tmp_path: Path, korean_model_path: Path) -> None:
    bogus = tmp_path / "not-audio.wav"
    bogus.write_text("hello")
    result = CliRunner().invoke(app, ["replay", str(bogus), "--model", str(korean_model_path)])
    assert result.exit_code == 1 and "cannot read audio file" in result.output


# --- the product's own call recordings: stereo, caller left, bot right (issue 16) --------------------------------
@pytest.fixture(scope="module")
def call_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[float, float], tuple[float, float]]:
    """A recording written by the call's own StereoRecorder: the caller speaks first, then the bot answers."""
    from callbot.audio import frames_of
    from callbot.recording import StereoRecorder

    tmp = tmp_path_factory.mktemp("recording")
    caller = build_call(8000, [0.6, trimmed_speech(tmp, "안녕하세요 저는 서울에 살고 있습니다", "ko", 8000), 3.0])
    bot = build_call(8000, [3.4, trimmed_speech(tmp, "저는 부산에 있습니다", "ko", 8000), 1.0])
    recorder = StereoRecorder(tmp / "call-1.wav", 8000)
    for caller_frame, bot_frame in zip(frames_of(caller.pcm, 8000), frames_of(bot.pcm, 8000)):
        recorder.write_frame(caller_frame.pcm, bot_frame.pcm)
    recorder.close()
    return recorder.path, caller.truth[0], bot.truth[0]


def test_replay_hears_one_side_of_a_call_recording(call_recording) -> None:
    from callbot.replay import replay_channel

    path, (caller_start, caller_end), (bot_start, bot_end) = call_recording
    picked, note = replay_channel(path, None)
    assert picked == 0 and note is not None and "replaying the caller's (left" in note
    caller = replay(path, Settings(), None, channel=picked)
    assert len(caller.segments) == 1 and abs(caller.segments[0][0] - caller_start) <= 0.1
    assert abs(caller.segments[0][1] - caller_end) <= 0.1
    bot = replay(path, Settings(), None, channel=replay_channel(path, "bot")[0])
    assert len(bot.segments) == 1 and abs(bot.segments[0][0] - bot_start) <= 0.1
    assert replay_channel(path, "mix") == (None, None)
    mixed = replay(path, Settings(), None, channel=None).segments  # both sides at once, the old way
    assert abs(mixed[0][0] - caller_start) <= 0.1 and abs(mixed[-1][1] - bot_end) <= 0.1


def test_a_mono_file_has_no_bot_channel(tmp_path: Path) -> None:
    from callbot.audio import AudioError
    from callbot.replay import replay_channel

    wav = write_wav(tmp_path / "mono.wav", b"\x00\x00" * 8000, 8000)
    assert replay_channel(wav, None) == (None, None) and replay_channel(wav, "caller") == (None, None)
    with pytest.raises(AudioError, match="mono: it has no separate bot channel"):
        replay_channel(wav, "bot")


@pytest.mark.slow
def test_replay_command_takes_the_caller_of_a_call_recording_by_default(call_recording, korean_model_path: Path,
                                                                         tmp_path: Path) -> None:
    path, (caller_start, _), (bot_start, _) = call_recording
    default = subprocess.run([*CALLBOT, "replay", str(path), "--model", str(korean_model_path), "--json"],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert "replaying the caller's" in default.stderr
    (final,) = json.loads(default.stdout)["finals"]
    assert caller_start - 0.35 <= final["start"] and final["text"]
    bot = subprocess.run([*CALLBOT, "replay", str(path), "--model", str(korean_model_path), "--json",
                          "--channel", "bot"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    (final,) = json.loads(bot.stdout)["finals"]
    assert bot.returncode == 0 and "note:" not in bot.stderr and final["start"] >= bot_start - 0.35
    wrong = CliRunner().invoke(app, ["replay", str(path), "--model", str(korean_model_path), "--channel", "left"])
    assert wrong.exit_code == 2 and "--channel must be caller, bot or mix" in wrong.output
