"""The dialogue type-checks: mypy (the project's settings in pyproject.toml) passes on ``callbot/dialogue/`` with
no ``type: ignore`` in it, so its vocabulary (``callbot.types``: Slot, Question, Escalation ...) is checked, not
assumed. A test rather than a Makefile target so that CI's ``make test`` runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import REPO

DIALOGUE = REPO / "callbot" / "dialogue"


def test_no_type_ignore_in_the_dialogue() -> None:
    ignores = [f"{path.relative_to(REPO)}:{number}" for path in sorted(DIALOGUE.glob("*.py"))
               for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
               if "type: ignore" in line]
    assert ignores == []


def test_mypy_passes_on_the_dialogue(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache"), "callbot/dialogue/"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout
