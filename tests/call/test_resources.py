"""The shared resources of a process (``SharedResources.load``): each locale's Vosk model loaded once and shared by
every call (one recognizer per call), or record-only mode when no model is installed, said at start."""

from __future__ import annotations

import pytest

from callbot.call.resources import SharedResources
from callbot.config import Settings
from callbot.testing import RATE


@pytest.mark.model
def test_shared_resources_load_the_configured_model_once_for_every_call(korean_model_path, vosk_models):
    settings = Settings(asr_model_vi=str(korean_model_path))
    resources = SharedResources.load(settings, vosk_models=vosk_models)
    assert not resources.record_only("vi")
    assert resources.asr_model_paths == {"vi": korean_model_path}
    first, second = resources.recognizer("vi", RATE), resources.recognizer("vi", RATE)
    assert first is not second and first.model is second.model  # one model, one recognizer per call
    resources.store.close()


def test_shared_resources_without_a_model_run_record_only_and_say_so(caplog, vosk_models):
    settings = Settings(asr_model_vi="vosk-model-small-vn-0.4")  # in the manifest, not installed here
    resources = SharedResources.load(settings, vosk_models=vosk_models)
    assert resources.record_only("vi") and resources.recognizer("vi", RATE) is None
    assert "record-only" in caplog.text and "callbot models pull vosk-model-small-vn-0.4" in caplog.text
    resources.store.close()
