"""Streaming: sentence by sentence, chunks of at most 100 ms, cancellation within one chunk (espeak-ng, real)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from callbot.tts import SpeechOutput, TtsError
from tests.support.tts import assert_clean_speech, settings_with
from tests.support.waiting import let_time_pass

THREE_SENTENCES = "Xin chào anh chị. Tổng đài viên đang bận. Tôi sẽ ghi nhận yêu cầu của anh chị."
LONG_PROMPT = " ".join(f"Đây là câu thứ {n} của một lời nhắc rất dài." for n in range(1, 16))


def test_first_audio_comes_after_the_first_sentence_only(tmp_path: Path) -> None:
    speech = SpeechOutput(settings_with(tmp_path))
    chunks = speech.stream(THREE_SENTENCES, locale="vi", rate=8000)
    first = next(chunks)
    assert first and speech.stats.sentences_synthesized == 1
    rest = list(chunks)
    assert speech.stats.sentences_synthesized == 3
    assert_clean_speech(first + b"".join(rest), 8000, (4.0, 12.0))


@pytest.mark.parametrize(("rate", "chunk_ms"), [(8000, 100), (16000, 100), (8000, 20)])
def test_chunks_are_whole_samples_and_at_most_chunk_ms(tmp_path: Path, rate: int, chunk_ms: int) -> None:
    speech = SpeechOutput(settings_with(tmp_path), chunk_ms=chunk_ms)
    chunks = list(speech.stream(THREE_SENTENCES, locale="vi", rate=rate))
    assert all(0 < len(c) <= 2 * rate * chunk_ms // 1000 and len(c) % 2 == 0 for c in chunks)


def test_cancelling_stops_output_within_one_chunk(tmp_path: Path) -> None:
    speech = SpeechOutput(settings_with(tmp_path))
    cancel = threading.Event()
    chunks = speech.stream(LONG_PROMPT, locale="vi", rate=8000, cancel=cancel)
    received = [next(chunks) for _ in range(12)]  # a little more than one sentence
    cancel.set()
    assert list(chunks) == []
    assert len(received) == 12
    assert speech.stats.sentences_synthesized < 15  # the rest of the prompt was never synthesized


def test_barge_in_from_another_thread_during_real_time_playback(tmp_path: Path) -> None:
    """A player thread paces chunks like the call's media clock; the listener cancels from another thread."""
    speech = SpeechOutput(settings_with(tmp_path))
    cancel = threading.Event()
    played_after_cancel: list[bytes] = []
    played: list[bytes] = []

    started_playing = threading.Event()

    def player() -> None:
        for chunk in speech.stream(LONG_PROMPT, locale="vi", rate=8000, cancel=cancel):
            (played_after_cancel if cancel.is_set() else played).append(chunk)
            if len(played) == 5:
                started_playing.set()
            let_time_pass(len(chunk) / 2 / 8000 / 10)  # played out at ten times real time: short, still paced

    thread = threading.Thread(target=player)
    thread.start()
    assert started_playing.wait(timeout=30)
    cancel.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert played and len(played_after_cancel) <= 1
    assert sum(map(len, played)) / 2 / 8000 < 30  # far short of the whole prompt


def test_text_without_words_makes_no_audio(tmp_path: Path) -> None:
    speech = SpeechOutput(settings_with(tmp_path))
    assert list(speech.stream(" ... ", locale="vi", rate=8000)) == []
    assert speech.stats.sentences_synthesized == 0


def test_unsupported_rate_is_refused(tmp_path: Path) -> None:
    speech = SpeechOutput(settings_with(tmp_path))
    with pytest.raises(TtsError, match="unsupported output rate 11025"):
        speech.synthesize("xin chào", locale="vi", rate=11025)


def test_chunk_size_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_ms"):
        SpeechOutput(settings_with(tmp_path), chunk_ms=500)
