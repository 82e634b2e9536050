"""EndpointDetector on real espeak-ng speech with known silences, clean and in noise."""

from __future__ import annotations

import numpy as np
import pytest

from callbot.audio import AudioError, Frame, frames_of
from callbot.config import Settings
from callbot.vad import (
    BargeIn,
    EndpointConfig,
    EndpointDetector,
    NoInputTimeout,
    SpeechEnd,
    SpeechStarted,
    VadEvent,
)
from tests.support.speech import SyntheticCall, build_call, trimmed_speech, with_noise

RATE = 8000


@pytest.fixture(scope="module")
def phrases(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    tmp = tmp_path_factory.mktemp("vad")
    first = trimmed_speech(tmp, "xin chào tôi tên là nguyễn văn an", "vi", RATE)
    second = trimmed_speech(tmp, "tôi sống ở phường đống đa hà nội", "vi", RATE)
    return first, second


def run(detector: EndpointDetector, call: SyntheticCall) -> list[VadEvent]:
    events: list[VadEvent] = []
    for frame in frames_of(call.pcm, call.rate):
        events.extend(detector.process(frame))
    return events + detector.finish()


def segments(events: list[VadEvent]) -> list[tuple[float, float]]:
    return [(event.start, event.at) for event in events if isinstance(event, SpeechEnd)]


@pytest.mark.parametrize(
    ("noise_kind", "snr_db"),
    [(None, None), ("white", 20), ("pink", 20), ("white", 10), ("pink", 10)],
)
def test_boundaries_within_100_ms_of_truth(phrases, noise_kind: str | None, snr_db: float | None) -> None:
    first, second = phrases
    call = build_call(RATE, [1.0, first, 1.2, second, 1.0])
    for seed in range(1, 9) if noise_kind else ():  # several noise draws: one lucky draw proves little
        assert_boundaries(with_noise(call, noise_kind, snr_db, seed=seed))
    if not noise_kind:
        assert_boundaries(call)


@pytest.mark.parametrize(("noise_kind", "snr_db"), [(None, None), ("white", 10), ("pink", 10)])
def test_boundaries_on_a_wideband_16_khz_line(tmp_path, noise_kind: str | None, snr_db: float | None) -> None:
    first = trimmed_speech(tmp_path, "xin chào tôi tên là nguyễn văn an", "vi", 16000)
    second = trimmed_speech(tmp_path, "tôi sống ở phường đống đa hà nội", "vi", 16000)
    call = build_call(16000, [1.0, first, 1.2, second, 1.0])
    for seed in range(1, 5) if noise_kind else ():
        assert_boundaries(with_noise(call, noise_kind, snr_db, seed=seed))
    if not noise_kind:
        assert_boundaries(call)


def assert_boundaries(call: SyntheticCall) -> None:
    detector = EndpointDetector.from_settings(Settings(), call.rate)
    detector.begin_turn()
    found = segments(run(detector, call))
    assert len(found) == len(call.truth), f"segments {found} vs truth {call.truth}"
    for (start, end), (true_start, true_end) in zip(found, call.truth):
        assert abs(start - true_start) <= 0.1, (found, call.truth)
        assert abs(end - true_end) <= 0.1, (found, call.truth)


def test_start_of_call_noise_does_not_end_a_turn(phrases) -> None:
    """Noise from the very first frame (webrtcvad's adaptation window): no turn before the caller speaks."""
    first, _ = phrases
    call = with_noise(build_call(RATE, [0.8, first, 1.0]), "white", 10)
    detector = EndpointDetector.from_settings(Settings(), RATE)
    detector.begin_turn()
    events = run(detector, call)
    true_start = call.truth[0][0]
    early = [event for event in events if event.at < true_start - 0.1]
    assert early == []
    assert isinstance(events[0], SpeechStarted)
    assert len(segments(events)) == 1


def test_without_warmup_the_adaptation_noise_would_make_a_turn() -> None:
    """webrtcvad calls a fresh line's first ~100 ms of noise speech; the warm-up is what ignores it.

    The energy gate is switched off here to show the warm-up's own effect."""
    rng = np.random.default_rng(3)
    hiss = SyntheticCall(rng.standard_normal(RATE * 2) * 300.0, RATE, ())  # two seconds of noise, no speech
    unguarded = EndpointConfig(aggressiveness=0, warmup_ms=0, energy_gate=False)
    spurious = segments(run(EndpointDetector(unguarded, RATE), hiss))
    assert spurious and spurious[0][0] == 0.0 and spurious[0][1] <= 0.12
    guarded = EndpointConfig(aggressiveness=0, warmup_ms=120, energy_gate=False)
    assert run(EndpointDetector(guarded, RATE), hiss) == []


def test_per_question_silence_keeps_a_paused_answer_in_one_turn(phrases) -> None:
    first, second = phrases
    call = build_call(RATE, [0.5, first, 0.9, second, 1.5])
    detector = EndpointDetector.from_settings(Settings(), RATE)
    detector.begin_turn()
    assert len(segments(run(detector, call))) == 2  # default 600 ms splits at the 0.9 s pause
    patient = EndpointDetector.from_settings(Settings(), RATE)
    patient.begin_turn(end_silence_ms=1200)  # e.g. the address question
    (only,) = segments(run(patient, call))
    assert abs(only[0] - call.truth[0][0]) <= 0.1 and abs(only[1] - call.truth[1][1]) <= 0.1


def test_no_input_timer_fires_once_and_pauses_while_bot_speaks() -> None:
    silence = SyntheticCall(np.zeros(RATE * 5), RATE, ())
    detector = EndpointDetector(EndpointConfig(no_input_timeout_s=1.5), RATE)
    detector.begin_turn()
    (event,) = run(detector, silence)
    assert isinstance(event, NoInputTimeout) and event.seconds == 1.5 and abs(event.at - 1.5) < 0.021

    detector = EndpointDetector(EndpointConfig(no_input_timeout_s=1.5), RATE)
    detector.set_bot_speaking(True)
    detector.begin_turn()
    timeouts: list[VadEvent] = []
    for frame in frames_of(silence.pcm, RATE):
        if abs(frame.start - 2.0) < 1e-9:
            detector.set_bot_speaking(False)  # the question finished playing at 2.0 s
        timeouts.extend(detector.process(frame))
    (event,) = timeouts
    assert abs(event.at - 3.5) < 0.021


def test_barge_in_only_while_bot_speaks(phrases) -> None:
    first, _ = phrases
    call = build_call(RATE, [0.5, first, 0.8])
    talking = EndpointDetector.from_settings(Settings(), RATE)
    talking.set_bot_speaking(True)
    events = run(talking, call)
    barge = [event for event in events if isinstance(event, BargeIn)]
    assert len(barge) == 1 and abs(barge[0].at - call.truth[0][0]) <= 0.1
    listening = EndpointDetector.from_settings(Settings(), RATE)
    assert not any(isinstance(event, BargeIn) for event in run(listening, call))


def test_wrong_rates_are_refused() -> None:
    with pytest.raises(AudioError, match="8, 16, 32 or 48 kHz"):
        EndpointDetector.from_settings(Settings(), 22050)
    detector = EndpointDetector.from_settings(Settings(), 8000)
    with pytest.raises(AudioError, match="8000 Hz"):
        detector.process(Frame(b"\x00" * 640, 16000))
