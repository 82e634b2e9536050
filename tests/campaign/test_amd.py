"""Answering-machine detection on real speech (espeak-ng through the real webrtcvad endpoint detector): a long
greeting without a pause is a machine; a short "alô?" then a pause is a person; silence is a person."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.support.speech import espeak_wav

from callbot.audio import Frame, frames_of, read_wav
from callbot.campaign.amd import AmdConfig, Answerer, AnsweringMachineDetector
from callbot.config import Settings

RATE = 8000
VOICEMAIL = ("xin chào bạn đã gọi tới số máy của nguyễn văn an hiện tôi không thể nghe máy "
             "vui lòng để lại lời nhắn sau tiếng bíp tôi sẽ gọi lại cho bạn sớm nhất có thể xin cảm ơn")


def run(detector: AnsweringMachineDetector, pcm: bytes):  # type: ignore[no-untyped-def]
    for frame in frames_of(pcm, RATE):
        verdict = detector.feed(frame)
        if verdict is not None:
            return verdict
    return None


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * RATE) * 2)


@pytest.fixture
def detector() -> AnsweringMachineDetector:
    return AnsweringMachineDetector(AmdConfig(initial_silence_ms=2500, greeting_ms=2500, pause_ms=800), Settings(), RATE)


def test_voicemail_greeting_is_a_machine(tmp_path: Path, espeak: str, detector: AnsweringMachineDetector) -> None:
    greeting = read_wav(espeak_wav(tmp_path / "vm.wav", VOICEMAIL, "vi", rate=RATE, speed=170), RATE).pcm
    assert len(greeting) / 2 / RATE > 6  # a long greeting
    verdict = run(detector, silence(0.3) + greeting)
    assert verdict is not None and verdict.answerer is Answerer.machine
    assert 2.5 <= verdict.greeting_s < 3.0 and verdict.at < 3.6  # decided as soon as the greeting is long enough


def test_short_hello_then_pause_is_a_person(tmp_path: Path, espeak: str, detector: AnsweringMachineDetector) -> None:
    hello = read_wav(espeak_wav(tmp_path / "alo.wav", "a lô, ai đấy ạ", "vi", rate=RATE), RATE).pcm
    verdict = run(detector, silence(0.4) + hello + silence(3.0))
    assert verdict is not None and verdict.answerer is Answerer.person
    assert 0.3 < verdict.greeting_s < 2.0 and "pause" in verdict.reason


def test_silence_is_a_person_even_without_frames(detector: AnsweringMachineDetector) -> None:
    assert detector.elapsed(2.0) is None
    verdict = detector.elapsed(2.5)
    assert verdict is not None and verdict.answerer is Answerer.person and verdict.greeting_s == 0
    assert detector.feed(Frame(silence(0.02), RATE, 2.6)) is verdict  # decided once


def test_line_noise_is_not_a_greeting(detector: AnsweringMachineDetector) -> None:
    noise = (np.random.default_rng(1).normal(0, 300, 4 * RATE)).astype("<i2").tobytes()  # steady hiss
    verdict = run(detector, noise)
    assert verdict is not None and verdict.answerer is Answerer.person and verdict.greeting_s == 0
