"""Warm recognizers (``callbot.recognizer_pool`` and ``VoskRecognizer``'s kept decoders) with the real Korean
Vosk model on espeak-ng Korean speech: a reused recognizer hears what a fresh one hears, the free-speech
recognizer survives yes/no grammars, and the memory cap drops recognizers instead of keeping them."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.asr import VoskModels, VoskRecognizer
from callbot.audio import read_wav
from callbot.eval.metrics import edit_distance
from callbot.recognizer_pool import RecognizerPool, process_rss_mb
from callbot.types import Transcript
from tests.support.speech import espeak_wav

pytestmark = pytest.mark.slow

RATE = 16000
CHUNK = 640  # 20 ms
SENTENCES = ["안녕하세요 저는 서울에 살고 있습니다", "물과 음식이 필요합니다", "오늘 날씨가 좋습니다"]
YES_NO = ["네", "아니요"]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("pool")
    return [read_wav(espeak_wav(folder / f"ko-{n}.wav", text, "ko", RATE)).pcm for n, text in enumerate(SENTENCES)]


def decode(recognizer: VoskRecognizer, pcm: bytes, offset: float = 0.0) -> Transcript:
    for at in range(0, len(pcm), CHUNK):
        recognizer.accept(pcm[at : at + CHUNK])
    return recognizer.final(offset)


def heard(transcript: Transcript) -> tuple[str, list[tuple[str, float, float]]]:
    return transcript.text, [(w.word, round(w.start, 2), round(w.end, 2)) for w in transcript.words]


def nearly(heard_text: str, fresh_text: str) -> bool:
    """The same words but at most one. Vosk carries its speaker adaptation (i-vectors) from one utterance to the
    next in a recognizer, so a recognizer that has heard other speech may decode a word differently: measured
    with fresh vs used recognizers on the same clips, even within one call. Leaked audio (the bug Reset() had)
    adds the last call's words; the silence check below catches that exactly."""
    return edit_distance(fresh_text.split(), heard_text.split()) <= 1


def pool_of(vosk_models: VoskModels, **changes: object) -> RecognizerPool:
    options: dict = {"max_audio_s": 600.0, "max_rss_mb": None, "max_idle": 4, **changes}
    return RecognizerPool(vosk_models, **options)


def test_a_reused_recognizer_hears_what_a_fresh_one_hears(
    vosk_models: VoskModels, korean_model, korean_model_path: Path, clips: list[bytes]
) -> None:
    fresh = [heard(decode(VoskRecognizer(korean_model, RATE), pcm, offset=3.0)) for pcm in clips]
    assert all(text for text, _ in fresh)
    pool = pool_of(vosk_models)
    first_call = pool.acquire(korean_model_path, RATE)
    decode(first_call, clips[0])
    first_call.set_phrases(YES_NO)  # a read-back: the grammar recognizer
    decode(first_call, clips[1])
    first_call.set_phrases(None)
    for at in range(0, len(clips[2]) // 2, CHUNK):  # the caller hangs up mid-sentence: an utterance left open
        first_call.accept(clips[2][at : at + CHUNK])
    pool.release(first_call)

    second_call = pool.acquire(korean_model_path, RATE)
    assert second_call is first_call and pool.stats.as_dict() == {"created": 1, "reused": 1, "dropped": 0, "idle": 0}
    assert second_call.phrases is None  # free speech again, nothing of the last call left open
    assert decode(second_call, bytes(RATE * 2), offset=3.0).text == ""  # a second of silence: no leftover words
    reused = [heard(decode(second_call, pcm, offset=3.0)) for pcm in clips]
    for (text, words), (fresh_text, fresh_words) in zip(reused, fresh, strict=True):
        assert nearly(text, fresh_text), (text, fresh_text)
        assert words[0][1] == pytest.approx(fresh_words[0][1], abs=0.05)  # times from this call's own start


def test_the_free_speech_recognizer_stays_warm_across_yes_no_grammars(korean_model, clips: list[bytes]) -> None:
    recognizer = VoskRecognizer(korean_model, RATE)
    free = decode(recognizer, clips[0])
    for _ in range(3):  # question, read-back, question, read-back...
        recognizer.set_phrases(YES_NO)
        decode(recognizer, clips[1])
        recognizer.set_phrases(None)
    assert recognizer.recognizers_made == 2  # one free-speech, one yes/no: neither remade
    again = decode(recognizer, clips[0], offset=10.0)
    assert nearly(again.text, free.text) and again.words[0].start == pytest.approx(10.0 + free.words[0].start, abs=0.05)


def test_the_memory_cap_drops_a_recognizer_that_decoded_too_much(
    vosk_models: VoskModels, korean_model_path: Path, clips: list[bytes]
) -> None:
    seconds = len(clips[0]) / 2 / RATE
    pool = pool_of(vosk_models, max_audio_s=seconds * 1.5)
    recognizer = pool.acquire(korean_model_path, RATE)
    decode(recognizer, clips[0])
    pool.release(recognizer)  # under the cap: kept
    assert pool.acquire(korean_model_path, RATE) is recognizer
    decode(recognizer, clips[0])
    assert recognizer.audio_seconds == pytest.approx(2 * seconds)
    pool.release(recognizer)  # over it: dropped, the next call gets a new one
    replacement = pool.acquire(korean_model_path, RATE)
    assert replacement is not recognizer and replacement.audio_seconds == 0.0
    assert pool.stats.as_dict() == {"created": 2, "reused": 1, "dropped": 1, "idle": 0}


def test_the_rss_cap_drops_every_recognizer_given_back_above_it(
    vosk_models: VoskModels, korean_model_path: Path, clips: list[bytes]
) -> None:
    rss = process_rss_mb()
    assert rss > 600  # the Korean model alone is ~625 MB: the reading is the real process's
    pool = pool_of(vosk_models, max_rss_mb=rss - 1)  # already above: nothing is kept
    lent = [pool.acquire(korean_model_path, RATE) for _ in range(2)]
    for recognizer in lent:
        decode(recognizer, clips[1])
        pool.release(recognizer)
    assert pool.stats.idle == 0 and pool.stats.dropped == 2
    roomy = pool_of(vosk_models, max_rss_mb=rss + 10_000, max_idle=1)  # under it: kept, up to max_idle
    lent = [roomy.acquire(korean_model_path, RATE) for _ in range(2)]
    for recognizer in lent:
        roomy.release(recognizer)
    assert roomy.stats.idle == 1 and roomy.stats.dropped == 1
    roomy.release(lent[0])  # given back twice: ignored
    assert roomy.stats.idle == 1
