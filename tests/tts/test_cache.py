"""The prompt cache: rendered once, served without synthesis, invalidated by edits, overridden by recordings."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from callbot.audio import read_wav, to_pcm16, write_wav
from callbot.tts import SpeechOutput
from tests.support.speech import espeak_wav
from tests.support.tts import assert_clean_speech, level_of, settings_with, write_prompts

PROMPTS = {
    "greeting": "Xin chào, đây là tổng đài hỗ trợ người dân. Các tổng đài viên đang bận.",
    "ask_name": "Xin anh chị cho biết họ và tên.",
    "read_back": "Số phiếu của anh chị là {number}.",
}


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    write_prompts(tmp_path / "prompts", "vi", PROMPTS)
    return tmp_path / "prompts"


def speech_for(tmp_path: Path, prompts_dir: Path, **overrides: object) -> SpeechOutput:
    return SpeechOutput(settings_with(tmp_path, prompts_dir=prompts_dir, **overrides))


def test_warm_renders_each_static_prompt_once(tmp_path: Path, prompts_dir: Path) -> None:
    speech = speech_for(tmp_path, prompts_dir)
    report = speech.warm("vi", 8000)
    assert sorted(report.rendered) == ["ask_name", "greeting"]
    assert report.dynamic == ["read_back"] and report.reused == [] and report.recorded == []
    assert len(list((tmp_path / "data" / "prompt-cache" / "vi").glob("*.wav"))) == 2
    again = speech_for(tmp_path, prompts_dir).warm("vi", 8000)
    assert sorted(again.reused) == ["ask_name", "greeting"] and again.rendered == []
    other_rate = speech_for(tmp_path, prompts_dir).warm("vi", 16000)
    assert sorted(other_rate.rendered) == ["ask_name", "greeting"]


def test_a_cached_prompt_is_served_without_synthesis(tmp_path: Path, prompts_dir: Path) -> None:
    first = speech_for(tmp_path, prompts_dir)
    rendered = first.synthesize(PROMPTS["greeting"], locale="vi", rate=8000, key="greeting")
    assert first.stats.sentences_synthesized == 2 and first.stats.cache_misses == 1
    assert_clean_speech(rendered, 8000, (3.0, 10.0))

    later = speech_for(tmp_path, prompts_dir)  # a new process reading the same cache
    served = later.synthesize(PROMPTS["greeting"], locale="vi", rate=8000, key="greeting")
    assert served == rendered
    assert later.stats.sentences_synthesized == 0 and later.stats.cache_hits == 1
    assert later.stats.voice_load_seconds == {}  # no voice was even loaded


def test_changing_a_prompts_text_invalidates_its_entry(tmp_path: Path, prompts_dir: Path) -> None:
    speech = speech_for(tmp_path, prompts_dir)
    before = speech.synthesize(PROMPTS["ask_name"], locale="vi", rate=8000, key="ask_name")
    edited = "Xin anh chị vui lòng cho biết họ tên đầy đủ."
    write_prompts(prompts_dir, "vi", {**PROMPTS, "ask_name": edited})
    synthesized = speech.stats.sentences_synthesized
    after = speech.synthesize(edited, locale="vi", rate=8000, key="ask_name")
    assert speech.stats.sentences_synthesized == synthesized + 1 and after != before
    assert speech_for(tmp_path, prompts_dir).warm("vi", 8000).reused == ["ask_name"]


def test_changing_the_voice_or_level_invalidates_entries(tmp_path: Path, prompts_dir: Path) -> None:
    speech_for(tmp_path, prompts_dir).warm("vi", 8000)
    assert sorted(
        speech_for(tmp_path, prompts_dir, tts_voice_vi="vi-vn-x-south").warm("vi", 8000).rendered
    ) == ["ask_name", "greeting"]
    assert sorted(speech_for(tmp_path, prompts_dir, tts_level_dbfs=-24.0).warm("vi", 8000).rendered) == [
        "ask_name",
        "greeting",
    ]


def test_a_dynamic_prompt_is_synthesized_every_time_and_never_cached(
    tmp_path: Path, prompts_dir: Path
) -> None:
    speech = speech_for(tmp_path, prompts_dir)
    text = PROMPTS["read_back"].format(number="1234-5678")
    speech.synthesize(text, locale="vi", rate=8000, key="read_back")
    speech.synthesize(text, locale="vi", rate=8000, key="read_back")
    assert speech.stats.sentences_synthesized == 2 and speech.stats.cache_misses == 0
    assert not (tmp_path / "data" / "prompt-cache").exists()


def test_a_recorded_wav_overrides_synthesis(tmp_path: Path, prompts_dir: Path) -> None:
    (prompts_dir / "vi" / "audio").mkdir()
    recording = espeak_wav(
        prompts_dir / "vi" / "audio" / "greeting.wav", "Xin chào quý vị", "vi-vn-x-south", 44100
    )
    quiet = to_pcm16(0.05 * np.frombuffer(read_wav(recording).pcm, dtype="<i2") / 32768.0)
    write_wav(recording, quiet, 44100)  # recorded far too quietly: must still play at the TTS level
    speech = speech_for(tmp_path, prompts_dir)
    report = speech.warm("vi", 8000)
    assert report.recorded == ["greeting"] and report.rendered == ["ask_name"]
    pcm = speech.synthesize(PROMPTS["greeting"], locale="vi", rate=8000, key="greeting")
    assert speech.stats.sentences_synthesized == 1  # only ask_name, during warm
    assert abs(len(pcm) / 2 / 8000 - read_wav(recording).duration) < 0.01
    assert abs(level_of(pcm, 8000) - (-20.0)) < 1.0
    replaced = espeak_wav(prompts_dir / "vi" / "audio" / "greeting.wav", "Chào", "vi", 16000)
    assert speech.synthesize(PROMPTS["greeting"], locale="vi", rate=8000, key="greeting") != pcm
    assert read_wav(replaced).duration < read_wav(recording).duration + 1


def test_prompts_build_command_fills_the_cache(tmp_path: Path, prompts_dir: Path) -> None:
    env = {**os.environ, "CALLBOT_DATA_DIR": str(tmp_path / "data"), "CALLBOT_PROMPTS_DIR": str(prompts_dir)}
    command = [sys.executable, "-m", "callbot", "prompts", "build", "--locale", "vi", "--rate", "8000"]
    first = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "2 rendered, 0 already cached, 0 recorded, 1 dynamic" in first.stdout
    second = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=120)
    assert "0 rendered, 2 already cached" in second.stdout
    assert len(list((tmp_path / "data" / "prompt-cache" / "vi").glob("*.wav"))) == 2


def test_a_cache_miss_during_a_call_still_streams_sentence_by_sentence(
    tmp_path: Path, prompts_dir: Path
) -> None:
    speech = speech_for(tmp_path, prompts_dir)
    chunks = speech.stream(PROMPTS["greeting"], locale="vi", rate=8000, key="greeting")
    next(chunks)
    assert speech.stats.sentences_synthesized == 1 and speech.stats.cache_misses == 1
    rest = b"".join(chunks)
    assert speech.stats.sentences_synthesized == 2 and rest
    assert len(list((tmp_path / "data" / "prompt-cache" / "vi").glob("*.wav"))) == 1


def test_a_prompt_cancelled_before_its_end_is_not_cached(tmp_path: Path, prompts_dir: Path) -> None:
    speech = speech_for(tmp_path, prompts_dir)
    cancel = threading.Event()
    chunks = speech.stream(PROMPTS["greeting"], locale="vi", rate=8000, key="greeting", cancel=cancel)
    next(chunks)
    cancel.set()
    assert list(chunks) == []
    assert not (tmp_path / "data" / "prompt-cache").exists()
    later = speech_for(tmp_path, prompts_dir)
    later.synthesize(PROMPTS["greeting"], locale="vi", rate=8000, key="greeting")
    assert later.stats.cache_misses == 1 and later.stats.sentences_synthesized == 2
