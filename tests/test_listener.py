"""The Listener: VAD-gated streaming ASR, with the real Korean Vosk model on espeak-ng speech at 8 kHz."""

from __future__ import annotations

import numpy as np
import pytest

from callbot.asr import VoskRecognizer
from callbot.audio import frames_of, resample
from callbot.config import Settings
from callbot.listener import BargeIn, Final, Listener, ListenerEvent, NoInputTimeout, Partial, SpeechStarted
from callbot.testing import ScriptedRecognizer
from callbot.types import Ask
from tests.support.speech import SyntheticCall, build_call, text_similarity, trimmed_speech

RATE = 8000


@pytest.fixture(scope="module")
def korean(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    tmp = tmp_path_factory.mktemp("listener")
    return (
        trimmed_speech(tmp, "안녕하세요 저는 서울에 살고 있습니다", "ko", RATE),
        trimmed_speech(tmp, "저는 부산에 있습니다", "ko", RATE),
    )


def listen(listener: Listener, call: SyntheticCall) -> list[ListenerEvent]:
    events: list[ListenerEvent] = []
    for frame in frames_of(call.pcm, call.rate):
        events.extend(listener.feed(frame))
    return events + listener.finish()


def finals(events: list[ListenerEvent]) -> list[Final]:
    return [event for event in events if isinstance(event, Final)]


@pytest.mark.slow
def test_turns_give_partials_then_finals_in_stream_time(korean, korean_model) -> None:
    first, second = korean
    call = build_call(RATE, [1.0, first, 2.0, second, 1.5])
    listener = Listener(Settings(), VoskRecognizer(korean_model, 16000), RATE)
    listener.begin_turn(None)
    events = listen(listener, call)
    kinds = [type(event) for event in events]
    assert kinds.count(SpeechStarted) == 2 and kinds.count(Final) == 2
    assert kinds[0] is SpeechStarted and kinds.index(Partial) < kinds.index(Final)
    for final, (true_start, true_end) in zip(finals(events), call.truth):
        assert final.transcript.text
        assert abs(final.speech_end - true_end) <= 0.1
        assert final.at >= final.speech_end + 0.6 - 0.021  # decided after the 600 ms end silence
        assert true_start - 0.35 <= final.transcript.start and final.transcript.end <= true_end + 0.35
        assert abs(len(final.audio) / 2 / RATE - (true_end - true_start + 0.6)) < 0.1  # speech + 2 x 300 ms
    for final in finals(events):  # gating loses nothing: the clip decoded in one piece reads much the same
        direct = VoskRecognizer(korean_model, 16000)
        direct.accept(resample(final.audio, RATE, 16000))
        direct_text = direct.final(0.0).text
        assert text_similarity(final.transcript.text, direct_text) >= 0.5, (final.transcript.text, direct_text)


@pytest.mark.slow
def test_phrase_list_per_question_then_free_speech_again(korean, korean_model) -> None:
    first, _ = korean
    call = build_call(RATE, [0.5, first, 1.0])
    listener = Listener(Settings(), VoskRecognizer(korean_model, 16000), RATE)
    listener.begin_turn(Ask(text="?", slot="confirm", phrases=("저", "있습 니다")))
    (constrained,) = finals(listen(listener, call))
    assert {word.word for word in constrained.transcript.words} <= {"저", "있습", "니다", "[unk]"}
    listener = Listener(Settings(), VoskRecognizer(korean_model, 16000), RATE)
    listener.begin_turn(Ask(text="?", slot="confirm", phrases=("저", "있습 니다")))
    listener.begin_turn(Ask(text="?", slot="need"))
    (free,) = finals(listen(listener, call))
    assert set(free.transcript.text.split()) - {"저", "있습", "니다"}


def test_only_speech_and_padding_reach_the_recognizer(korean) -> None:
    first, second = korean
    call = build_call(RATE, [3.0, first, 4.0, second, 3.0])
    recognizer = ScriptedRecognizer()
    listener = Listener(Settings(asr_padding_ms=300), recognizer, RATE)
    events = listen(listener, call)
    assert len(finals(events)) == 2
    speech = sum(end - start for start, end in call.truth)
    expected = speech + 2 * 2 * 0.3  # each turn plus 300 ms before and after
    assert abs(listener.stats.asr_seconds - expected) < 0.15
    fed_seconds = recognizer.fed_bytes / 2 / recognizer.sample_rate
    assert abs(fed_seconds - listener.stats.asr_seconds) < 0.05  # resampled to 16 kHz, nothing lost
    assert listener.stats.asr_fraction < 0.5


def test_record_only_final_carries_the_clip(korean) -> None:
    first, _ = korean
    call = build_call(RATE, [0.6, first, 1.0])
    listener = Listener(Settings(), None, RATE)
    (final,) = finals(listen(listener, call))
    assert final.transcript.text == ""
    true_start, true_end = call.truth[0]
    clip = np.frombuffer(final.audio, dtype="<i2").astype(float)
    assert abs(len(clip) / RATE - (true_end - true_start + 0.6)) < 0.1
    assert abs(final.transcript.start - true_start) <= 0.1 and abs(final.transcript.end - true_end) <= 0.1


def test_no_input_and_barge_in_events(korean) -> None:
    first, _ = korean
    listener = Listener(Settings(), ScriptedRecognizer(), RATE)
    listener.begin_turn(Ask(text="?", slot="name", no_input_timeout_s=1.0))
    silent = listen(listener, SyntheticCall(np.zeros(RATE * 2), RATE, ()))
    assert [type(event) for event in silent] == [NoInputTimeout]
    listener = Listener(Settings(), ScriptedRecognizer(), RATE)
    listener.set_bot_speaking(True)
    events = listen(listener, build_call(RATE, [0.5, first, 1.0]))
    assert [type(event) for event in events[:2]] == [SpeechStarted, BargeIn]


def test_long_pause_inside_a_turn_is_held_then_fed(korean) -> None:
    """With a patient end silence, the pause is held back and only fed when the caller speaks again."""
    first, second = korean
    call = build_call(RATE, [0.5, first, 1.0, second, 2.0])
    recognizer = ScriptedRecognizer()
    listener = Listener(Settings(), recognizer, RATE)
    listener.begin_turn(Ask(text="?", slot="address", end_silence_ms=1500))
    (final,) = finals(listen(listener, call))
    whole = call.truth[1][1] - call.truth[0][0] + 0.6
    assert abs(len(final.audio) / 2 / RATE - whole) < 0.1
    assert abs(recognizer.fed_bytes / 2 / 16000 - whole) < 0.1


def test_a_new_question_mid_utterance_swaps_the_grammar_only_after_the_final(korean) -> None:
    first, _ = korean
    call = build_call(RATE, [0.5, first, 1.0])
    recognizer = ScriptedRecognizer()
    listener = Listener(Settings(), recognizer, RATE)
    asked = False
    for frame in frames_of(call.pcm, RATE):
        for event in listener.feed(frame):
            if isinstance(event, Final):
                assert recognizer.phrases == ("có", "không")  # applied right after this utterance closed
        if listener.detector.in_speech and not asked:
            listener.begin_turn(Ask(text="?", slot="confirm", phrases=("có", "không")))
            asked = True
            assert recognizer.phrases is None  # not under the utterance being decoded
    assert asked and recognizer.phrases == ("có", "không")
