"""The turn model's own parts: Whisper log-mel features in numpy against the real WhisperFeatureExtractor's
output (a fixture, see tests/support/whisper.py for how it was made), and the model file's loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.support.whisper import FIXTURE, reference_signal

from callbot.config import Settings
from callbot.turn_end import load_turn_model
from callbot.turn_model import SmartTurnModel, TurnModelError, WhisperFeatures, mel_filters


def test_features_match_the_real_whisper_feature_extractor() -> None:
    reference = np.load(FIXTURE)
    features = WhisperFeatures()(reference_signal())
    assert features.shape == (80, 800) and features.dtype == np.float32
    step = int(reference["frame_step"])
    assert np.abs(features[:, ::step] - reference["frames"]).max() < 1e-4
    assert features.mean() == pytest.approx(float(reference["mean"]), abs=1e-5)
    assert features.std() == pytest.approx(float(reference["std"]), abs=1e-5)


def test_mel_filters_are_slaney_triangles() -> None:
    filters = mel_filters()
    assert filters.shape == (80, 201) and (filters >= 0).all()
    assert (filters.max(axis=1) > 0).all()  # no empty band
    peaks = filters.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all()  # centres rise with the band


def test_a_short_turn_is_padded_in_front_and_a_long_one_keeps_its_end() -> None:
    features = WhisperFeatures()
    short = features.fit(np.ones(16000, dtype=np.float32))
    assert len(short) == 128000 and short[:-16000].max() == 0 and short[-1] == 1
    ramp = np.arange(200000, dtype=np.float32)
    assert features.fit(ramp)[-1] == ramp[-1] and len(features.fit(ramp)) == 128000


def test_a_missing_or_broken_model_names_the_fix(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(TurnModelError, match="callbot models pull smart-turn-v3.2"):
        SmartTurnModel(tmp_path / "nowhere")
    broken = tmp_path / "smart-turn-v3.2-cpu.onnx"
    broken.write_bytes(b"not onnx")
    with pytest.raises(TurnModelError, match="cannot load"):
        SmartTurnModel(tmp_path)
    # the service does not stop for it: the smart end of turn runs on the words and the timer, and says so
    assert load_turn_model(Settings(turn_detector="smart", turn_model=str(tmp_path / "nowhere"))) is None
    assert "no end-of-turn model" in caplog.text
    assert load_turn_model(Settings(turn_detector="timer")) is None


def test_the_installed_model_loads_and_answers_a_probability() -> None:
    model = load_turn_model(Settings(turn_detector="smart"))
    assert isinstance(model, SmartTurnModel)
    silence = np.zeros(8000, dtype=np.float32)
    assert 0.0 <= model.probability(silence, 8000) <= 1.0
    assert model.inferences == 1 and model.seconds > 0
